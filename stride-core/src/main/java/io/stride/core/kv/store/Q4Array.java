package io.stride.core.kv.store;

import io.stride.core.kv.KvCacheType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Keys or values as ggml's {@code q4_0}: each run of 32 values of a slot is one block with
 * {@code d = m / -8} (m the value of largest magnitude, d in half precision) and 4-bit
 * {@code q = min(15, trunc(x / d + 8.5))} (ggml's {@code quantize_row_q4_0_ref}); a value widens to
 * {@code d · (q - 8)}. As in ggml one byte holds values i (low nibble) and i + 16 (high nibble) of a block. Rows:
 * a slot's block is 16 consecutive bytes. Tiles: byte i of block b of the sixteen slots is one run of 16 bytes,
 * so a vector load gives values i and i + 16 of sixteen keys.
 */
public final class Q4Array extends BlockArray {
    private final byte[] q;

    Q4Array(boolean tiled, int slots, int dim) {
        super(tiled, slots, dim);
        q = new byte[this.slots * dim / 2];
    }

    @Override
    public KvCacheType type() {
        return KvCacheType.Q4_0;
    }

    /** The byte holding value j of slot s (j % 32 < 16: low nibble, else high); byte i + 1 of a block is one step further. */
    private int byteIndex(int s, int j) {
        int i = (j / QK) * (QK / 2) + j % (QK / 2);
        return tiled ? (s / TILE) * TILE * (dim / 2) + TILE * i + s % TILE : s * (dim / 2) + i;
    }

    @Override
    public void write(int slot, float[] src, int off) {
        int step = tiled ? TILE : 1;
        for (int b = 0; b < blocks; b++) {
            int x0 = off + QK * b;
            float amax = 0f, max = 0f;
            for (int i = 0; i < QK; i++) {
                float v = src[x0 + i];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8f;
            float id = d != 0f ? 1f / d : 0f;
            setScale(slot, b, d);
            int bi = byteIndex(slot, QK * b);
            for (int i = 0; i < QK / 2; i++) {
                int lo = Math.min(15, (int) (src[x0 + i] * id + 8.5f));
                int hi = Math.min(15, (int) (src[x0 + QK / 2 + i] * id + 8.5f));
                q[bi + step * i] = (byte) (lo | hi << 4);
            }
        }
    }

    @Override
    public void copy(int from, int to) {
        int step = tiled ? TILE : 1;
        int a = byteIndex(from, 0), c = byteIndex(to, 0);
        for (int i = 0; i < dim / 2; i++) {
            q[c + step * i] = q[a + step * i];
        }
        copyScales(from, to);
    }

    @Override
    public int slotBytes() {
        return dim / 2 + 2 * blocks;
    }

    @Override
    public void exportSlots(int first, int count, java.nio.ByteBuffer dst) {
        runStart(first, count);
        dst.put(q, byteIndex(first, 0), count * dim / 2);
        exportScales(first, count, dst);
    }

    @Override
    public void importSlots(int first, int count, java.nio.ByteBuffer src) {
        runStart(first, count);
        src.get(q, byteIndex(first, 0), count * dim / 2);
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
            int bi = byteIndex(tileSlot, j0 + d0);
            for (int col = 0; col < TILE; col += lanes) {
                FloatVector sv = FloatVector.fromArray(F, dst, row + col);
                for (int i = 0; i < QK / 2; i++) {
                    ByteVector v = ByteVector.fromArray(B, q, bi + TILE * i + col);
                    ByteVector lo = v.and((byte) 0x0F).sub((byte) 8), hi = v.lanewise(VectorOperators.LSHR, 4).and((byte) 0x0F).sub((byte) 8);
                    ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 0)).mul(sv).intoArray(dst, row + TILE * i + col);
                    ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 0)).mul(sv).intoArray(dst, row + TILE * (i + QK / 2) + col);
                }
            }
        }
    }

    @Override
    public void widenKey(int slot, int j0, int n, float[] dst, int off, int stride) {
        int step = tiled ? TILE : 1;
        for (int d0 = 0; d0 < n; d0 += QK) {
            float sc = scale(slot, (j0 + d0) / QK);
            int bi = byteIndex(slot, j0 + d0);
            for (int i = 0; i < QK / 2; i++) {
                int v = q[bi + step * i];
                dst[off + stride * (d0 + i)] = sc * ((v & 0x0F) - 8);
                dst[off + stride * (d0 + i + QK / 2)] = sc * (((v >> 4) & 0x0F) - 8);
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
            int o = off + r * n;
            for (int d0 = 0; d0 < n; d0 += QK) {
                FloatVector sv = FloatVector.broadcast(F, scale(s, (j0 + d0) / QK));
                int bi = byteIndex(s, j0 + d0);
                for (int i = 0; i < QK / 2; i += lanes) {
                    ByteVector v = ByteVector.fromArray(B, q, bi + i);
                    ByteVector lo = v.and((byte) 0x0F).sub((byte) 8), hi = v.lanewise(VectorOperators.LSHR, 4).and((byte) 0x0F).sub((byte) 8);
                    ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 0)).mul(sv).intoArray(dst, o + d0 + i);
                    ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 0)).mul(sv).intoArray(dst, o + d0 + QK / 2 + i);
                }
            }
        }
    }

    @Override
    long quantBytes() {
        return q.length;
    }
}
