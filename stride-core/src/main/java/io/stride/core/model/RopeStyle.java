package io.stride.core.model;

/** How rotary embeddings pair up the dimensions of a head. */
public enum RopeStyle {
    /** Adjacent pairs (x[2i], x[2i+1]): llama.cpp's LLAMA_ROPE_TYPE_NORM. */
    INTERLEAVED,
    /** Halves (x[i], x[i + d/2]): GPT-NeoX style, used by Qwen. */
    NEOX
}
