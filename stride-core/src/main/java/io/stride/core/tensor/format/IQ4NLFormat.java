package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;

import java.lang.foreign.MemorySegment;

/**
 * IQ4_NL: blocks of 32 values, an f16 scale and 16 bytes of 4-bit codes into the non-linear levels of
 * {@link IQ4Values} (low nibbles are values 0–15, high nibbles 16–31). Decoded as ggml's {@code dequantize_row_iq4_nl}.
 */
public final class IQ4NLFormat implements QuantFormat {
    @Override
    public GgmlType type() {
        return GgmlType.IQ4_NL;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / 32; b++) {
            long o = offset + 18L * b;
            float d = Bytes.f16(src, o);
            int y = dstOff + 32 * b;
            for (int j = 0; j < 16; j++) {
                int q = Bytes.u8(src, o + 2 + j);
                dst[y + j] = d * IQ4Values.LEVELS[q & 0xF];
                dst[y + 16 + j] = d * IQ4Values.LEVELS[q >>> 4];
            }
        }
    }
}
