package io.stride.core.kv.store;

import io.stride.core.kv.KvCacheType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * What ggml's 32-value block types share: one half-precision scale per run of 32 values of a slot, kept apart from
 * the quants. Rows: a slot's scales are consecutive. Tiles: the scales of one block of the sixteen slots are sixteen
 * consecutive halves, so a tile's block widens with one scale vector.
 */
abstract sealed class BlockArray extends KvArray permits Q8Array, Q4Array {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Whether the vector widening applies: 8 or 16 float lanes, a part of a tile. */
    static final boolean VECTOR = F.length() >= 8 && TILE % F.length() == 0;
    /** As many bytes as F has floats. */
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, F.length() * 8)));
    static final int QK = KvCacheType.BLOCK;

    final short[] scale;
    final int blocks;

    BlockArray(boolean tiled, int slots, int dim) {
        super(tiled, slots, dim);
        this.blocks = dim / QK;
        this.scale = new short[this.slots * blocks];
    }

    final int scaleIndex(int s, int b) {
        return tiled ? (s / TILE) * TILE * blocks + TILE * b + s % TILE : s * blocks + b;
    }

    /** The scale of block b of slot s. */
    final float scale(int s, int b) {
        return Float.float16ToFloat(scale[scaleIndex(s, b)]);
    }

    final void setScale(int s, int b, float d) {
        scale[scaleIndex(s, b)] = Float.floatToFloat16(d);
    }

    final void copyScales(int from, int to) {
        for (int b = 0; b < blocks; b++) {
            scale[scaleIndex(to, b)] = scale[scaleIndex(from, b)];
        }
    }

    /** The sixteen scales of block b of the tile from {@code tileSlot}, as floats into {@code dst[at ..]}. */
    final void tileScales(int tileSlot, int b, float[] dst, int at) {
        int si = scaleIndex(tileSlot, b);
        for (int s = 0; s < TILE; s++) {
            dst[at + s] = Float.float16ToFloat(scale[si + s]);
        }
    }

    /** Scalar widening of a whole tile, slot by slot (for vector shapes the vector paths do not cover). */
    final void widenTileBySlot(int tileSlot, int j0, int n, float[] dst, int off) {
        for (int s = 0; s < TILE; s++) {
            widenKey(tileSlot + s, j0, n, dst, off + s, TILE);
        }
    }

    /** Appends the scales of slots [first, first + count) as stored (a run, see {@link #runStart}). */
    final void exportScales(int first, int count, java.nio.ByteBuffer dst) {
        int n = count * blocks;
        dst.asShortBuffer().put(scale, scaleIndex(first, 0), n);
        dst.position(dst.position() + 2 * n);
    }

    final void importScales(int first, int count, java.nio.ByteBuffer src) {
        int n = count * blocks;
        src.asShortBuffer().get(scale, scaleIndex(first, 0), n);
        src.position(src.position() + 2 * n);
    }

    @Override
    public final long bytes() {
        return quantBytes() + 2L * scale.length;
    }

    abstract long quantBytes();
}
