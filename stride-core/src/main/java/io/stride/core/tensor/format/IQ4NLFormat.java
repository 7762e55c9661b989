package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;

/**
 * IQ4_NL: blocks of 32 values, an f16 scale and 16 bytes of 4-bit codes into the non-linear levels of
 * {@link IQ4Values} (low nibbles are values 0–15, high nibbles 16–31). Decoded as ggml's {@code dequantize_row_iq4_nl}
 * ({@code d · level}); Q4_0's layout with other levels, so it shares Q4_0's kernels.
 */
public final class IQ4NLFormat extends NibbleLevelsFormat {
    public IQ4NLFormat() {
        super(GgmlType.IQ4_NL, IQ4Values.floats());
    }
}
