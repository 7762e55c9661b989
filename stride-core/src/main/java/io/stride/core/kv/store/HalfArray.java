package io.stride.core.kv.store;

import io.stride.core.kv.KvCacheType;

/**
 * Keys or values in 16 bits: IEEE half ({@code f16}, rounded to nearest even by {@code Float.floatToFloat16}; values
 * beyond ±65504 become infinite, as in ggml) or bfloat16 ({@code bf16}, the top half of the float rounded to nearest
 * even, as ggml's {@code GGML_FP32_TO_BF16}). Widening is exact; the plain widening loops compile to vector
 * conversions.
 */
public final class HalfArray extends KvArray {
    private final short[] data;
    private final boolean bf16;

    HalfArray(boolean tiled, int slots, int dim, boolean bf16) {
        super(tiled, slots, dim);
        this.bf16 = bf16;
        data = new short[this.slots * dim];
    }

    @Override
    public KvCacheType type() {
        return bf16 ? KvCacheType.BF16 : KvCacheType.F16;
    }

    /** The 16-bit pattern of {@code x} in this array's type. */
    short narrow(float x) {
        if (!bf16) {
            return Float.floatToFloat16(x);
        }
        int u = Float.floatToRawIntBits(x);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 64); // NaN stays a quiet NaN
        }
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    @Override
    public void write(int slot, float[] src, int off) {
        int base = index(slot, 0), step = tiled ? TILE : 1;
        for (int j = 0; j < dim; j++) {
            data[base + step * j] = narrow(src[off + j]);
        }
    }

    @Override
    public void copy(int from, int to) {
        copySlot(data, from, to);
    }

    @Override
    public int slotBytes() {
        return 2 * dim;
    }

    @Override
    public void exportSlots(int first, int count, java.nio.ByteBuffer dst) {
        int at = runStart(first, count), n = count * dim;
        dst.asShortBuffer().put(data, at, n);
        dst.position(dst.position() + 2 * n);
    }

    @Override
    public void importSlots(int first, int count, java.nio.ByteBuffer src) {
        int at = runStart(first, count), n = count * dim;
        src.asShortBuffer().get(data, at, n);
        src.position(src.position() + 2 * n);
    }

    @Override
    public void widenTile(int tileSlot, int j0, int n, float[] dst, int off) {
        widenRun(index(tileSlot, j0), TILE * n, dst, off);
    }

    @Override
    public void widenKey(int slot, int j0, int n, float[] dst, int off, int stride) {
        int base = index(slot, j0), step = tiled ? TILE : 1;
        if (bf16) {
            for (int d = 0; d < n; d++) {
                dst[off + stride * d] = Float.intBitsToFloat(data[base + step * d] << 16);
            }
        } else {
            for (int d = 0; d < n; d++) {
                dst[off + stride * d] = Float.float16ToFloat(data[base + step * d]);
            }
        }
    }

    @Override
    public void widenRows(int[] slotOf, int from, int count, int j0, int n, float[] dst, int off) {
        for (int r = 0; r < count; r++) {
            widenRun(index(slotOf[from + r], j0), n, dst, off + r * n);
        }
    }

    /** {@code len} consecutive stored values from {@code src} into {@code dst[off ..]}. */
    private void widenRun(int src, int len, float[] dst, int off) {
        short[] h = data;
        if (bf16) {
            for (int i = 0; i < len; i++) {
                dst[off + i] = Float.intBitsToFloat(h[src + i] << 16);
            }
        } else {
            for (int i = 0; i < len; i++) {
                dst[off + i] = Float.float16ToFloat(h[src + i]);
            }
        }
    }

    @Override
    public long bytes() {
        return 2L * data.length;
    }
}
