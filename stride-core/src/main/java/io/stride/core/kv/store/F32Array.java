package io.stride.core.kv.store;

import io.stride.core.kv.KvCacheType;

/** Keys or values in float32, read in place by attention. */
public final class F32Array extends KvArray {
    private final float[] data;

    F32Array(boolean tiled, int slots, int dim) {
        super(tiled, slots, dim);
        data = new float[this.slots * dim];
    }

    @Override
    public KvCacheType type() {
        return KvCacheType.F32;
    }

    @Override
    public void write(int slot, float[] src, int off) {
        if (!tiled) {
            System.arraycopy(src, off, data, slot * dim, dim);
            return;
        }
        int base = index(slot, 0);
        for (int j = 0; j < dim; j++) {
            data[base + TILE * j] = src[off + j];
        }
    }

    @Override
    public void copy(int from, int to) {
        copySlot(data, from, to);
    }

    @Override
    public void widenTile(int tileSlot, int j0, int n, float[] dst, int off) {
        System.arraycopy(data, index(tileSlot, j0), dst, off, TILE * n);
    }

    @Override
    public void widenKey(int slot, int j0, int n, float[] dst, int off, int stride) {
        int base = index(slot, j0), step = tiled ? TILE : 1;
        for (int d = 0; d < n; d++) {
            dst[off + stride * d] = data[base + step * d];
        }
    }

    @Override
    public int slotBytes() {
        return 4 * dim;
    }

    @Override
    public void exportSlots(int first, int count, java.nio.ByteBuffer dst) {
        int at = runStart(first, count), n = count * dim;
        dst.asFloatBuffer().put(data, at, n);
        dst.position(dst.position() + 4 * n);
    }

    @Override
    public void importSlots(int first, int count, java.nio.ByteBuffer src) {
        int at = runStart(first, count), n = count * dim;
        src.asFloatBuffer().get(data, at, n);
        src.position(src.position() + 4 * n);
    }

    @Override
    public float[] floats() {
        return data;
    }

    @Override
    public long bytes() {
        return 4L * data.length;
    }
}
