package io.stride.core.tools;

import java.util.Locale;

/**
 * Shapes of real models, for synthetic benchmark files.
 *
 * @param arch      GGUF architecture
 * @param tokenizer "llama" (SentencePiece) or "gpt2" (byte-level BPE)
 * @param pre       BPE pre-tokenizer name (gpt2 only)
 */
public record SynthPreset(String name, String arch, int dim, int layers, int heads, int kvHeads, int ffn, int vocab,
                          boolean tied, boolean qkvBias, int context, double ropeBase, String tokenizer, String pre) {

    public static final SynthPreset TINYLLAMA = new SynthPreset("tinyllama-1.1b", "llama", 2048, 22, 32, 4, 5632, 32000,
            false, false, 2048, 10000, "llama", null);
    public static final SynthPreset LLAMA32_1B = new SynthPreset("llama-3.2-1b", "llama", 2048, 16, 32, 8, 8192, 128256,
            true, false, 131072, 500000, "gpt2", "llama-bpe");
    public static final SynthPreset QWEN25_05B = new SynthPreset("qwen2.5-0.5b", "qwen2", 896, 24, 14, 2, 4864, 151936,
            true, true, 32768, 1000000, "gpt2", "qwen2");
    /** a small model for tests */
    public static final SynthPreset TEST_TINY = new SynthPreset("test-tiny", "llama", 256, 2, 4, 2, 512, 1024,
            false, false, 1024, 10000, "llama", null);

    /** a small byte-level BPE model with q/k/v biases and a tied embedding, for tests */
    public static final SynthPreset TEST_TINY_QWEN2 = new SynthPreset("test-tiny-qwen2", "qwen2", 128, 2, 4, 2, 256, 2048,
            true, true, 1024, 1000000, "gpt2", "qwen2");

    public static SynthPreset byName(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "tinyllama-1.1b" -> TINYLLAMA;
            case "llama-3.2-1b" -> LLAMA32_1B;
            case "qwen2.5-0.5b" -> QWEN25_05B;
            case "test-tiny" -> TEST_TINY;
            case "test-tiny-qwen2" -> TEST_TINY_QWEN2;
            default -> throw new IllegalArgumentException("unknown preset '" + name
                    + "' (presets: tinyllama-1.1b, llama-3.2-1b, qwen2.5-0.5b, test-tiny, test-tiny-qwen2)");
        };
    }

    public int headDim() {
        return dim / heads;
    }
}
