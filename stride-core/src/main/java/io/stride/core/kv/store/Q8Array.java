package io.stride.core.kv.store;

import io.stride.core.kv.KvCacheType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Keys or values as ggml's {@code q8_0}: each run of 32 values of a slot is one block, {@code q = round(x / d)} with
 * {@code d = max|x| / 127} kept in half precision (ggml's {@code quantize_row_q8_0_ref}); a value widens to
 * {@code d · q}, one float multiply, in the vector and the scalar paths alike. Quants lie where a float of the
 * layout would (tiles or rows, one byte each); the scales of a tile's block are sixteen consecutive halves.
 */
public final class Q8Array extends BlockArray {
    private final byte[] q;

    Q8Array(boolean tiled, int slots, int dim) {
        super(tiled, slots, dim);
        q = new byte[this.slots * dim];
    }

    /** An array of {@code slots} rows of {@code dim} values (dim a multiple of 32). */
    public static Q8Array rows(int slots, int dim) {
        return new Q8Array(false, slots, dim);
    }

    @Override
    public KvCacheType type() {
        return KvCacheType.Q8_0;
    }

    @Override
    public void write(int slot, float[] src, int off) {
        int step = tiled ? TILE : 1;
        for (int b = 0; b < blocks; b++) {
            int x0 = off + QK * b;
            float amax = 0f;
            for (int i = 0; i < QK; i++) {
                amax = Math.max(amax, Math.abs(src[x0 + i]));
            }
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            setScale(slot, b, d);
            int qi = index(slot, QK * b);
            for (int i = 0; i < QK; i++) {
                q[qi + step * i] = (byte) roundHalfAway(src[x0 + i] * id);
            }
        }
    }

    /** C's {@code roundf}: halves away from zero. */
    static int roundHalfAway(float v) {
        return (int) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
    }

    @Override
    public void copy(int from, int to) {
        copySlot(q, from, to);
        copyScales(from, to);
    }

    /** Copies row {@code from} of {@code src} to row {@code to} of this array, as stored (both in rows, same dim). */
    void copyRowFrom(Q8Array src, int from, int to) {
        if (tiled || src.tiled || src.dim != dim) {
            throw new IllegalArgumentException("row copies need two row arrays of one dim");
        }
        System.arraycopy(src.q, from * dim, q, to * dim, dim);
        System.arraycopy(src.scale, from * blocks, scale, to * blocks, blocks);
    }

    @Override
    public int slotBytes() {
        return dim + 2 * blocks;
    }

    @Override
    public void exportSlots(int first, int count, java.nio.ByteBuffer dst) {
        dst.put(q, runStart(first, count), count * dim);
        exportScales(first, count, dst);
    }

    @Override
    public void importSlots(int first, int count, java.nio.ByteBuffer src) {
        src.get(q, runStart(first, count), count * dim);
        importScales(first, count, src);
    }

    @Override
    public void widenTile(int tileSlot, int j0, int n, float[] dst, int off) {
        if (!VECTOR) {
            widenTileBySlot(tileSlot, j0, n, dst, off);
            return;
        }
        int lanes = F.length();
        for (int d0 = 0; d0 < n; d0 += QK) {
            int row = off + TILE * d0;
            // the sixteen scales go through the first row of the block's output, which the quants overwrite after
            tileScales(tileSlot, (j0 + d0) / QK, dst, row);
            int qi = index(tileSlot, j0 + d0);
            for (int col = 0; col < TILE; col += lanes) {
                FloatVector sv = FloatVector.fromArray(F, dst, row + col);
                for (int d = 0; d < QK; d++) {
                    FloatVector v = (FloatVector) ByteVector.fromArray(B, q, qi + TILE * d + col).convertShape(VectorOperators.B2F, F, 0);
                    v.mul(sv).intoArray(dst, row + TILE * d + col);
                }
            }
        }
    }

    @Override
    public void widenKey(int slot, int j0, int n, float[] dst, int off, int stride) {
        int step = tiled ? TILE : 1;
        int qi = index(slot, j0);
        for (int d0 = 0; d0 < n; d0 += QK) {
            float sc = scale(slot, (j0 + d0) / QK);
            for (int d = d0; d < d0 + QK; d++) {
                dst[off + stride * d] = sc * q[qi + step * d];
            }
        }
    }

    @Override
    public void widenRows(int[] slotOf, int from, int count, int j0, int n, float[] dst, int off) {
        if (!VECTOR || tiled) {
            super.widenRows(slotOf, from, count, j0, n, dst, off);
            return;
        }
        int lanes = F.length();
        for (int r = 0; r < count; r++) {
            int s = slotOf[from + r];
            int qi = index(s, j0), o = off + r * n;
            for (int d0 = 0; d0 < n; d0 += QK) {
                FloatVector sv = FloatVector.broadcast(F, scale(s, (j0 + d0) / QK));
                for (int i = d0; i < d0 + QK; i += lanes) {
                    FloatVector v = (FloatVector) ByteVector.fromArray(B, q, qi + i).convertShape(VectorOperators.B2F, F, 0);
                    v.mul(sv).intoArray(dst, o + i);
                }
            }
        }
    }

    @Override
    long quantBytes() {
        return q.length;
    }
}
