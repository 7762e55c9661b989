package io.stride.core.diffusion;

/**
 * A diffusion decoding setup that holds for any answer length (what {@code serve} is started with): the schedule,
 * the remasking rule and the speed-ups of {@link DiffusionParams}; a request brings its length and sampling.
 *
 * @param tokensPerStep the schedule's pace: blocks get {@code blockLength / tokensPerStep} steps (the timestep schedule
 *                      {@code ceil(maxTokens / tokensPerStep)} steps); 1 is the one-token-per-step baseline
 */
public record DiffusionOptions(int blockLength, float eps, Remasking remasking, int tokensPerStep, float threshold,
                               float prophetGap, int cacheRefresh, float adaptiveBlock, boolean endOfText,
                               FinalityRule filter) {
    /** llama-diffusion-cli's baseline: blocks of 32, confidence, one token per step, no speed-ups. */
    public static final DiffusionOptions BASELINE = new DiffusionOptions(32, 0, Remasking.CONFIDENCE, 1, 0, 0, 0, 0, false, null);

    public DiffusionOptions {
        if (tokensPerStep < 1) throw new IllegalArgumentException("tokens per step must be >= 1, got " + tokensPerStep);
        if (blockLength > 0 && blockLength % tokensPerStep != 0) {
            throw new IllegalArgumentException("tokens per step " + tokensPerStep + " must divide the block length " + blockLength);
        }
        int len = blockLength > 0 ? blockLength : 1; // every other check, on one block
        new DiffusionParams(len, len / tokensPerStep + (blockLength > 0 ? 0 : 1), blockLength, eps, remasking, 0, 0, 1, 0,
                threshold, prophetGap, cacheRefresh, adaptiveBlock, endOfText, filter);
    }

    /** The parameters for an answer of {@code maxTokens} positions with this sampling. */
    public DiffusionParams params(int maxTokens, float temperature, int topK, float topP, long seed) {
        int steps = blockLength > 0 ? DiffusionParams.blocks(maxTokens, blockLength) * (blockLength / tokensPerStep)
                : (maxTokens + tokensPerStep - 1) / tokensPerStep;
        return new DiffusionParams(maxTokens, steps, blockLength, eps, remasking, temperature, topK, topP, seed, threshold,
                prophetGap, cacheRefresh, adaptiveBlock, endOfText, filter);
    }
}
