package io.stride.core.kv.store;

import io.stride.core.kv.KvCacheType;

/**
 * One layer's keys or values for every cache slot, {@code dim} values per slot, stored in one {@link KvCacheType}.
 * Two layouts: rows (slot-major: value j of slot s is the s-th row's j-th value) for values, and tiles for keys:
 * {@link #TILE} consecutive slots transposed, so that value j of sixteen consecutive slots is one run and attention
 * scores sixteen keys per vector operation. Attention reads the stored type directly by widening the few slots it is
 * about to use into a small float scratch ({@link #widenTile}, {@link #widenKey}, {@link #widenRows}); widening is
 * exact and per value, so a key or value has the same float value whichever path widens it (batch invariance).
 * Writes and copies of distinct slots may run concurrently; reads may run concurrently with each other.
 */
public abstract sealed class KvArray permits F32Array, HalfArray, BlockArray, ZipArray {
    /** Slots per key tile. */
    public static final int TILE = 16;

    protected final boolean tiled;
    protected final int dim;
    protected final int slots;

    protected KvArray(boolean tiled, int slots, int dim) {
        this.tiled = tiled;
        this.dim = dim;
        this.slots = tiled ? (slots + TILE - 1) / TILE * TILE : slots;
        if ((long) this.slots * dim > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("KV cache too large for one layer array: " + slots + " slots of " + dim);
        }
    }

    /** An array of {@code slots} slots of {@code dim} values (dim a multiple of 32 for the block types). */
    public static KvArray of(KvCacheType type, boolean tiled, int slots, int dim) {
        return of(type, tiled, slots, dim, io.stride.core.kv.ZipOptions.DEFAULT);
    }

    /** {@link #of(KvCacheType, boolean, int, int)} with ZipCache's settings for {@link KvCacheType#ZIP}. */
    public static KvArray of(KvCacheType type, boolean tiled, int slots, int dim, io.stride.core.kv.ZipOptions zip) {
        return switch (type) {
            case F32 -> new F32Array(tiled, slots, dim);
            case F16 -> new HalfArray(tiled, slots, dim, false);
            case BF16 -> new HalfArray(tiled, slots, dim, true);
            case Q8_0 -> new Q8Array(tiled, slots, dim);
            case Q4_0 -> new Q4Array(tiled, slots, dim);
            case ZIP -> new ZipArray(tiled, slots, dim, zip);
        };
    }

    public abstract KvCacheType type();

    /** Stores {@code src[off .. off+dim)} as slot {@code slot} (rounded or quantized to the type). */
    public abstract void write(int slot, float[] src, int off);

    /** Copies slot {@code from} to slot {@code to} as stored (no re-rounding). */
    public abstract void copy(int from, int to);

    /**
     * Tiled layout: values j0 .. j0+n of the {@link #TILE} slots from {@code tileSlot} (a multiple of 16), value d of
     * slot tileSlot + s into {@code dst[off + 16d + s]} (the tile's own arrangement). j0 and n multiples of 32 for
     * the block types.
     */
    public abstract void widenTile(int tileSlot, int j0, int n, float[] dst, int off);

    /** Values j0 .. j0+n of one slot, value d into {@code dst[off + stride·d]}. */
    public abstract void widenKey(int slot, int j0, int n, float[] dst, int off, int stride);

    /** Rows layout: values j0 .. j0+n of slots {@code slotOf[from ..  from+count)}, row r into {@code dst[off + r·n ..]}. */
    public void widenRows(int[] slotOf, int from, int count, int j0, int n, float[] dst, int off) {
        for (int r = 0; r < count; r++) {
            widenKey(slotOf[from + r], j0, n, dst, off + r * n, 1);
        }
    }

    /** The stored floats when the type is f32 (attention then reads them in place), else null. */
    public float[] floats() {
        return null;
    }

    /** Bytes this array holds. */
    public abstract long bytes();

    /** Bytes of one slot as stored (quants and scales). */
    public abstract int slotBytes();

    /** Bytes {@link #exportSlots} writes for {@code count} slots (whole blocks for zip). */
    public int exportBytes(int count) {
        return count * slotBytes();
    }

    /**
     * Appends slots [first, first + count) exactly as stored, {@code count · slotBytes()} bytes in the array's own
     * arrangement (quants or values, then scales), to a little-endian buffer: one bulk copy per part, because the slots
     * of a block are one run (see {@link #runStart}). Moves a block between caches of the same type and dim.
     */
    public abstract void exportSlots(int first, int count, java.nio.ByteBuffer dst);

    /** Replaces slots [first, first + count) by what {@link #exportSlots} of an array of the same type and dim wrote. */
    public abstract void importSlots(int first, int count, java.nio.ByteBuffer src);

    /**
     * Where slots [first, first + count) begin in the one-element-per-value arrangement; they are one run there when
     * the layout is rows, or tiles and the range is whole tiles (a KV block is one tile).
     */
    protected final int runStart(int first, int count) {
        if (tiled && (first % TILE != 0 || count % TILE != 0)) {
            throw new IllegalArgumentException("slots " + first + "+" + count + " are not whole key tiles");
        }
        return index(first, 0);
    }

    /** Copies slot {@code from} to slot {@code to} of an array of one element per value laid out by {@link #index}. */
    protected final void copySlot(Object data, int from, int to) {
        if (!tiled) {
            System.arraycopy(data, from * dim, data, to * dim, dim);
            return;
        }
        int a = index(from, 0), b = index(to, 0);
        for (int j = 0; j < dim; j++) {
            System.arraycopy(data, a + TILE * j, data, b + TILE * j, 1);
        }
    }

    /** Where value j of slot s lies when one value takes one element. */
    protected final int index(int s, int j) {
        return tiled ? (s / TILE) * TILE * dim + TILE * j + s % TILE : s * dim + j;
    }
}
