package io.stride.core.tools;

import io.stride.core.gguf.GgmlType;

import java.util.Locale;

/** What a whole model is quantized to: a base tensor type plus llama.cpp's mixture rules for special tensors. */
public enum QuantTarget {
    F32(GgmlType.F32, 0),
    F16(GgmlType.F16, 1),
    Q8_0(GgmlType.Q8_0, 7),
    Q4_0(GgmlType.Q4_0, 2),
    /** llama.cpp's Q4_K_M mixture */
    Q4_K(GgmlType.Q4_K, 15),
    /** llama.cpp's Q5_K_M mixture */
    Q5_K(GgmlType.Q5_K, 17),
    Q6_K(GgmlType.Q6_K, 18);

    public final GgmlType base;
    /** value of general.file_type (llama_ftype) */
    public final int fileType;

    QuantTarget(GgmlType base, int fileType) {
        this.base = base;
        this.fileType = fileType;
    }

    public static QuantTarget parse(String s) {
        String u = s.toUpperCase(Locale.ROOT);
        if (u.equals("Q4_K_M")) {
            return Q4_K;
        }
        if (u.equals("Q5_K_M")) {
            return Q5_K;
        }
        for (QuantTarget t : values()) {
            if (t.name().equals(u)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown quantization type '" + s + "' (supported: F32, F16, Q8_0, Q4_0, Q4_K = Q4_K_M, Q5_K = Q5_K_M, Q6_K)");
    }

    /**
     * The type of one tensor, following llama.cpp's {@code llama_tensor_get_type} for these file types: the
     * output projection (or a tied embedding) goes to Q6_K for Q4 and Q5 types; Q4_K_M and Q5_K_M also give Q6_K to
     * attn_v and ffn_down of the layers {@code use_more_bits} picks. Vectors and non-weights keep their type.
     *
     * @return null to keep the tensor as it is
     */
    public GgmlType typeFor(String name, long[] dims, int layers, boolean hasOutput) {
        if (dims.length < 2 || !name.endsWith(".weight")) {
            return null;
        }
        GgmlType t = base;
        boolean isOutput = name.equals("output.weight") || (!hasOutput && name.equals("token_embd.weight"));
        boolean mixture = this == Q4_K || this == Q5_K;
        if ((this == Q4_0 || mixture) && isOutput) {
            t = GgmlType.Q6_K;
        } else if (mixture && (name.endsWith("attn_v.weight") || name.endsWith("ffn_down.weight"))) {
            int layer = layerOf(name);
            if (layer >= 0 && useMoreBits(layer, layers)) {
                t = GgmlType.Q6_K;
            }
        }
        if (dims[0] % t.blockSize != 0) {
            t = dims[0] % GgmlType.Q8_0.blockSize == 0 ? GgmlType.Q8_0 : GgmlType.F16;
        }
        return t;
    }

    static boolean useMoreBits(int i, int n) {
        return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
    }

    private static int layerOf(String name) {
        if (!name.startsWith("blk.")) {
            return -1;
        }
        int dot = name.indexOf('.', 4);
        try {
            return Integer.parseInt(name.substring(4, dot));
        } catch (RuntimeException e) {
            return -1;
        }
    }
}
