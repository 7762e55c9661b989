package io.stride.core.model;


/**
 * How a model's weights are prepared for computing, chosen by the user (CLI flags, server options) and handed to the
 * loader as one value.
 *
 * @param q4_0Kernel Q4_0 matrices multiplied in integers (llama.cpp's q4_0 · q8_0 arithmetic, the default) or floats
 * @param mapped     keep every tensor in the file mapping (llama.cpp's default mmap) instead of copying the matrices
 *                   into the model's own memory in the layout they are multiplied fastest in (more memory, faster decode)
 * @param threads    worker threads of the forward pass
 */
public record LoadOptions(Q4_0Kernel q4_0Kernel, boolean mapped, int threads) {
    /** How Q4_0 matrices are multiplied. */
    public enum Q4_0Kernel { INTEGER, FLOAT }

    public LoadOptions {
        if (threads < 1 || threads > 1024) {
            throw new IllegalArgumentException("threads must be between 1 and 1024, got " + threads);
        }
    }

    /**
     * The defaults, where the system properties {@code stride.q4_0} ({@code integer|float}) and {@code stride.weights}
     * ({@code copy|mapped}) may override them: the names the options had before they were flags, kept as aliases.
     */
    public static LoadOptions defaults(int threads) {
        String q = System.getProperty("stride.q4_0", "integer");
        Q4_0Kernel k = switch (q) {
            case "integer" -> Q4_0Kernel.INTEGER;
            case "float" -> Q4_0Kernel.FLOAT;
            default -> throw new IllegalArgumentException("stride.q4_0 must be integer or float, not " + q);
        };
        String w = System.getProperty("stride.weights", "copy");
        if (!w.equals("copy") && !w.equals("mapped")) {
            throw new IllegalArgumentException("stride.weights must be copy or mapped, not " + w);
        }
        return new LoadOptions(k, w.equals("mapped"), threads);
    }

    public LoadOptions withQ4_0Kernel(Q4_0Kernel k) {
        return new LoadOptions(k, mapped, threads);
    }

    public LoadOptions withMapped(boolean m) {
        return new LoadOptions(q4_0Kernel, m, threads);
    }
}
