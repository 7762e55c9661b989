package io.stride.core.model;

import java.util.Map;
import java.util.Set;

/**
 * A model family described as data: its {@code general.architecture} name and how it differs from the
 * common pre-norm decoder. Optional tensors (q/k/v biases, per-head q/k norms, rope_freqs, untied output)
 * are picked up when present, so an architecture only names what must be there.
 *
 * @param name          the GGUF architecture name, also the metadata key prefix
 * @param rope          rotary embedding layout
 * @param requiresBias  q/k/v biases are mandatory
 * @param requiresQkNorm per-head RMSNorm of q and k is mandatory
 * @param diffusion     a masked-diffusion model: attention is bidirectional within the sequence and text comes from
 *                      unmasking (see {@code io.stride.core.diffusion}), not from next-token prediction
 */
public record Architecture(String name, RopeStyle rope, boolean requiresBias, boolean requiresQkNorm, boolean diffusion) {

    private static final Map<String, Architecture> KNOWN = Map.of(
            "llama", new Architecture("llama", RopeStyle.INTERLEAVED, false, false, false),
            "mistral", new Architecture("mistral", RopeStyle.INTERLEAVED, false, false, false),
            "qwen2", new Architecture("qwen2", RopeStyle.NEOX, true, false, false),
            "qwen3", new Architecture("qwen3", RopeStyle.NEOX, false, true, false),
            // LLaDA: the Llama block with non-causal attention (llama.cpp's llm_build_llada)
            "llada", new Architecture("llada", RopeStyle.INTERLEAVED, false, false, true));

    /** The architecture called {@code name}, or null when Stride does not support it. */
    public static Architecture byName(String name) {
        return KNOWN.get(name);
    }

    public static Set<String> supported() {
        return KNOWN.keySet();
    }
}
