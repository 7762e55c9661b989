package io.stride.core.diffusion;

/**
 * How a diffusion model fills {@code maxTokens} masked positions after a prompt.
 *
 * <p>The baseline is llama-diffusion-cli's: with {@code blockLength > 0} the answer is decoded in blocks of that
 * many positions, left to right (LLaDA's semi-autoregressive schedule), {@code steps / blocks} steps each, the
 * block's masked positions spread as evenly as possible over its steps; with {@code blockLength == 0} the whole
 * answer is one block and step s unmasks the fraction {@code 1 - s'/t'} of what is left (Dream's timestep
 * schedule, {@code eps} its end point). One block is one llama.cpp block when the prompt is shorter than a block
 * (llama.cpp counts its blocks over the whole window, prompt included).
 *
 * <p>The speed-ups are off at their zero values and combine freely:
 * <ul>
 *   <li>{@code threshold}: a step also unmasks every position whose chosen token has at least this probability
 *       (Fast-dLLM's parallel decoding); 0: off.</li>
 *   <li>{@code prophetGap}: when the mean logit gap between the two best tokens over the block's masked positions
 *       reaches this, the block's remaining positions are committed at once (Prophet's early commit); 0: off.</li>
 *   <li>{@code cacheRefresh}: keys and values of positions outside the current block, and of block positions two
 *       steps after they were decoded, are reused from the cache instead of recomputed (dKV-Cache with its one-step
 *       delay); everything is recomputed at each block start and every {@code cacheRefresh} steps; 0: off.</li>
 *   <li>{@code adaptiveBlock}: a block ends after the first newline the model predicts with confidence ≥ this
 *       between half and twice the block length (AdaBlock's semantic boundaries); 0: fixed blocks.</li>
 *   <li>{@code endOfText}: once an end-of-text token is unmasked, every later position becomes end-of-text too
 *       (Learn2PD's end-of-text rule): the padding is not decoded step by step.</li>
 *   <li>{@code filter}: a step also unmasks every position the rule calls already final (Learn2PD's learned
 *       {@link FinalityFilter}, or an oracle for measuring the bound); null: off.</li>
 * </ul>
 */
public record DiffusionParams(
        int maxTokens,
        int steps,
        int blockLength,
        float eps,
        Remasking remasking,
        float temperature,
        int topK,
        float topP,
        long seed,
        float threshold,
        float prophetGap,
        int cacheRefresh,
        float adaptiveBlock,
        boolean endOfText,
        FinalityRule filter) {

    public DiffusionParams {
        if (maxTokens < 1) throw new IllegalArgumentException("the diffusion answer needs at least 1 token, got " + maxTokens);
        if (steps < 1) throw new IllegalArgumentException("--diffusion-steps must be >= 1, got " + steps);
        if (blockLength < 0) throw new IllegalArgumentException("--diffusion-block-length must be >= 0, got " + blockLength);
        if (blockLength == 0 && !(eps >= 0 && eps < 1)) throw new IllegalArgumentException("--diffusion-eps must be in [0, 1), got " + eps);
        if (blockLength > 0 && steps % blocks(maxTokens, blockLength) != 0) {
            throw new IllegalArgumentException("--diffusion-steps " + steps + " must be a multiple of the number of blocks "
                    + blocks(maxTokens, blockLength) + " (" + maxTokens + " tokens in blocks of " + blockLength + ")");
        }
        if (remasking == null) throw new IllegalArgumentException("remasking rule missing");
        if (!(temperature >= 0)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top_k must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        if (!(threshold >= 0 && threshold <= 1)) {
            throw new IllegalArgumentException("--diffusion-threshold must be in [0, 1], got " + threshold);
        }
        if (!(prophetGap >= 0)) throw new IllegalArgumentException("--diffusion-prophet must be >= 0, got " + prophetGap);
        if (cacheRefresh < 0) throw new IllegalArgumentException("--diffusion-cache must be >= 0, got " + cacheRefresh);
        if (!(adaptiveBlock >= 0 && adaptiveBlock <= 1)) throw new IllegalArgumentException("--diffusion-adaptive-block must be in [0, 1], got " + adaptiveBlock);
        if (adaptiveBlock > 0 && blockLength == 0) throw new IllegalArgumentException("--diffusion-adaptive-block needs --diffusion-block-length");
        if (remasking == Remasking.ORIGIN && (threshold > 0 || filter != null)) {
            throw new IllegalArgumentException((filter != null ? "--diffusion-filter" : "--diffusion-threshold")
                    + " needs a scoring rule; remasking 'origin' picks positions at random");
        }
    }

    /** llama-diffusion-cli's defaults for the baseline: one token per step in blocks of 32, confidence, greedy. */
    public static DiffusionParams baseline(int maxTokens) {
        int blocks = blocks(maxTokens, 32);
        return new DiffusionParams(maxTokens, blocks * 32, 32, 0, Remasking.CONFIDENCE, 0, 0, 1, 0, 0, 0, 0, 0, false, null);
    }

    /** Blocks of {@code blockLength} covering {@code maxTokens} positions. */
    public static int blocks(int maxTokens, int blockLength) {
        return (maxTokens + blockLength - 1) / blockLength;
    }

    public DiffusionParams withSteps(int s) {
        return new DiffusionParams(maxTokens, s, blockLength, eps, remasking, temperature, topK, topP, seed, threshold,
                prophetGap, cacheRefresh, adaptiveBlock, endOfText, filter);
    }

    public DiffusionParams withSpeedups(float threshold, float prophetGap, int cacheRefresh, float adaptiveBlock, boolean endOfText) {
        return new DiffusionParams(maxTokens, steps, blockLength, eps, remasking, temperature, topK, topP, seed, threshold,
                prophetGap, cacheRefresh, adaptiveBlock, endOfText, filter);
    }

    public DiffusionParams withFilter(FinalityRule f) {
        return new DiffusionParams(maxTokens, steps, blockLength, eps, remasking, temperature, topK, topP, seed, threshold,
                prophetGap, cacheRefresh, adaptiveBlock, endOfText, f);
    }
}
