package io.stride.cli;

import io.stride.core.diffusion.DiffusionOptions;
import io.stride.core.diffusion.DiffusionParams;
import io.stride.core.diffusion.FinalityFilter;
import io.stride.core.diffusion.Remasking;
import picocli.CommandLine.Option;

/**
 * How a diffusion model decodes, in llama-diffusion-cli's spelling where it has one; the Stride speed-ups are off unless
 * asked for. Applies only to diffusion models (an error otherwise).
 */
final class DiffusionFlags {
    @Option(names = "--diffusion-steps", paramLabel = "N",
            description = "Decoding steps in all (generate; default from --diffusion-tokens-per-step; a multiple of the number of blocks).")
    Integer steps;
    @Option(names = "--diffusion-tokens-per-step", paramLabel = "K", defaultValue = "1",
            description = "The schedule's pace: blocks get block-length / K steps (default ${DEFAULT-VALUE}: one token per step).")
    int tokensPerStep;
    @Option(names = "--diffusion-block-length", paramLabel = "N", defaultValue = "32",
            description = "Positions per semi-autoregressive block; 0 = one block with the timestep schedule of --diffusion-eps (default ${DEFAULT-VALUE}).")
    int blockLength;
    @Option(names = "--diffusion-eps", paramLabel = "F", defaultValue = "0",
            description = "End point of the timestep schedule (with --diffusion-block-length 0; default ${DEFAULT-VALUE}).")
    float eps;
    @Option(names = "--diffusion-algorithm", paramLabel = "RULE", defaultValue = "confidence",
            description = "Which masked positions a step unmasks: origin|entropy|margin|random|confidence or 0..4 as llama.cpp (default ${DEFAULT-VALUE}).")
    String algorithm;
    @Option(names = "--diffusion-threshold", paramLabel = "P", defaultValue = "0",
            description = "Parallel decoding: also unmask every position whose token has probability >= P (Fast-dLLM; 0 = off).")
    float threshold;
    @Option(names = "--diffusion-prophet", paramLabel = "GAP", defaultValue = "0",
            description = "Early commit: finish the block at once when the mean top-2 logit gap of its masked positions reaches GAP (Prophet; 0 = off).")
    float prophet;
    @Option(names = "--diffusion-cache", paramLabel = "R", defaultValue = "0",
            description = "Reuse keys/values outside the block and of tokens decoded two steps ago, recomputing all every R steps and at block starts (dKV-Cache; 0 = off).")
    int cache;
    @Option(names = "--diffusion-adaptive-block", paramLabel = "P", defaultValue = "0",
            description = "End a block after the first newline predicted with probability >= P, between half and twice the block length (AdaBlock; 0 = off).")
    float adaptive;
    @Option(names = "--diffusion-eot", description = "Once an end-of-text token is unmasked, make every later position end-of-text (Learn2PD's rule).")
    boolean endOfText;
    @Option(names = "--diffusion-filter", paramLabel = "FILE",
            description = "Also unmask every position this learned filter scores as final (Learn2PD; made by 'stride train-filter').")
    java.nio.file.Path filter;
    @Option(names = "--diffusion-filter-threshold", paramLabel = "P",
            description = "Score at which the filter unmasks a position (default: the one stored in the filter file).")
    Double filterThreshold;

    /** Refuses the first {@code --diffusion-*} option given for {@code model}, an autoregressive model. */
    static void rejectFor(picocli.CommandLine.ParseResult parsed, java.nio.file.Path model) {
        parsed.matchedOptions().stream().map(o -> o.longestName()).filter(name -> name.startsWith("--diffusion-")).findFirst()
                .ifPresent(name -> {
                    throw new IllegalArgumentException(name + " applies only to diffusion models; " + model.getFileName() + " is autoregressive");
                });
    }

    /** The setup for any answer length (serve); errors name the option. */
    DiffusionOptions options() {
        Remasking rule = Remasking.parse(algorithm, "--diffusion-algorithm");
        if (filterThreshold != null && filter == null) throw new IllegalArgumentException("--diffusion-filter-threshold needs --diffusion-filter");
        FinalityFilter f = filter == null ? null : FinalityFilter.load(filter);
        if (f != null && filterThreshold != null) f = f.withThreshold(filterThreshold);
        return new DiffusionOptions(blockLength, eps, rule, tokensPerStep, threshold, prophet, cache, adaptive, endOfText, f);
    }

    /** The parameters for {@code maxTokens} answer positions with this sampling (generate); errors name the option. */
    DiffusionParams params(int maxTokens, float temperature, int topK, float topP, long seed) {
        DiffusionParams p = options().params(maxTokens, temperature, topK, topP, seed);
        return steps != null ? p.withSteps(steps) : p;
    }
}
