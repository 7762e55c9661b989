package io.stride.core.tensor;

import io.stride.core.tensor.kernel.LaneProduct;
import io.stride.core.tensor.kernel.Q8Activations;
import io.stride.core.tensor.kernel.RegisterTiles;
import io.stride.core.tensor.kernel.VectorMath;
import io.stride.core.tensor.repack.LanesFormat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A worker's scratch for products: decoded rows, the aligned panel the register tiles read, their parked accumulators. */
final class Workspace {
    private static final int PARKED = MatMul.PARKED;

    float[] row = new float[0];
    MemorySegment panel = MemorySegment.NULL;
    /** four regions of {@link MatMul#PARKED} floats: rows 0–3 even chunks, rows 0–3 odd, rows 4–7 even, rows 4–7 odd */
    final float[] park = new float[4 * PARKED];
    /** scratch of the integer products, for the widest {@link LanesFormat} seen */
    LaneProduct.Scratch lanes;
    /** scratch of the activation quantization ({@link IntegerProduct}) */
    final short[] q8Scratch = Q8Activations.scratch();

    void ensureLanes(int groups) {
        if (lanes == null || lanes.groups < groups) lanes = new LaneProduct.Scratch(groups);
    }

    void ensure(int cols) {
        if (row.length < 5 * cols + 16 * VectorMath.LANES) {
            row = new float[5 * cols + 16 * VectorMath.LANES];
            panel = Arena.ofAuto().allocate(8L * 4 * RegisterTiles.rowStride(cols), 64);
        }
    }
}
