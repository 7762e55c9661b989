package io.stride.core.model;

import io.stride.core.gguf.GgufException;
import io.stride.core.gguf.GgufMetadata;

/** Hyper-parameters of a decoder model, read from GGUF metadata under the architecture's prefix. */
public record ModelConfig(
        Architecture arch,
        int dim,
        int layers,
        int heads,
        int kvHeads,
        int headDimK,
        int headDimV,
        int ffnDim,
        int vocab,
        int contextLength,
        float normEps,
        double ropeBase,
        int ropeDim,
        double ropeFreqScale) {

    public int qDim() {
        return heads * headDimK;
    }

    public int kvDimK() {
        return kvHeads * headDimK;
    }

    public int kvDimV() {
        return kvHeads * headDimV;
    }

    public static ModelConfig from(GgufMetadata m, String file, int vocab) {
        String archName = m.string("general.architecture");
        Architecture arch = Architecture.byName(archName);
        if (arch == null) {
            throw new GgufException(file + ": unknown architecture '" + archName + "' (supported: "
                    + String.join(", ", Architecture.supported().stream().sorted().toList()) + ")");
        }
        String p = archName + ".";
        int dim = m.positiveInt(p + "embedding_length");
        int layers = m.positiveInt(p + "block_count");
        int heads = m.positiveInt(p + "attention.head_count");
        int kvHeads = m.positiveInt(p + "attention.head_count_kv", heads);
        int ffn = m.positiveInt(p + "feed_forward_length");
        if (heads % kvHeads != 0) {
            throw new GgufException(file + ": attention.head_count " + heads + " is not a multiple of head_count_kv " + kvHeads);
        }
        if (!m.has(p + "attention.key_length") && dim % heads != 0) {
            throw new GgufException(file + ": embedding_length " + dim + " is not a multiple of head_count " + heads);
        }
        int headDimK = m.positiveInt(p + "attention.key_length", dim / heads);
        int headDimV = m.positiveInt(p + "attention.value_length", headDimK);
        int ctx = m.positiveInt(p + "context_length", 2048);
        float eps = (float) m.number(p + "attention.layer_norm_rms_epsilon", 1e-5);
        double base = m.number(p + "rope.freq_base", 10000.0);
        int ropeDim = m.positiveInt(p + "rope.dimension_count", headDimK);
        if (ropeDim > headDimK || ropeDim % 2 != 0) {
            throw new GgufException(file + ": rope.dimension_count " + ropeDim + " must be even and at most the head size " + headDimK);
        }
        if (!(base > 0) || !(eps > 0) || eps > 1) {
            throw new GgufException(file + ": invalid rope.freq_base " + base + " or layer_norm_rms_epsilon " + eps);
        }
        double freqScale = 1.0;
        String scaling = m.string(p + "rope.scaling.type", "none");
        double factor = m.number(p + "rope.scaling.factor", m.number(p + "rope.scale_linear", 1.0));
        switch (scaling) {
            case "none" -> { }
            case "linear" -> {
                if (!(factor > 0)) {
                    throw new GgufException(file + ": invalid rope.scaling.factor " + factor);
                }
                freqScale = 1.0 / factor;
            }
            default -> throw new GgufException(file + ": unsupported rope.scaling.type '" + scaling + "' (supported: none, linear)");
        }
        if (scaling.equals("none") && factor != 1.0 && factor > 0) {
            freqScale = 1.0 / factor; // legacy rope.scale_linear
        }
        return new ModelConfig(arch, dim, layers, heads, kvHeads, headDimK, headDimV, ffn, vocab, ctx, eps, base,
                ropeDim, freqScale);
    }
}
