package io.stride.core.tensor.format;

import java.lang.foreign.MemorySegment;

/** The packed 6-bit scale/min pairs shared by Q4_K and Q5_K ({@code get_scale_min_k4} in ggml). */
public final class KQuantScales {
    private KQuantScales() {}

    /** Scale number {@code j} (0..7) of the 12 scale bytes at {@code q}. */
    public static int scale(MemorySegment s, long q, int j) {
        if (j < 4) {
            return Bytes.u8(s, q + j) & 63;
        }
        return (Bytes.u8(s, q + j + 4) & 0x0f) | ((Bytes.u8(s, q + j - 4) >>> 6) << 4);
    }

    /** Minimum number {@code j} (0..7) of the 12 scale bytes at {@code q}. */
    public static int min(MemorySegment s, long q, int j) {
        if (j < 4) {
            return Bytes.u8(s, q + j + 4) & 63;
        }
        return (Bytes.u8(s, q + j + 4) >>> 4) | ((Bytes.u8(s, q + j) >>> 6) << 4);
    }
}
