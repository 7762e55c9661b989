package io.stride.core.tools;

import io.stride.core.gguf.GgmlType;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.QuantFormats;

/** Encodes a matrix row by row into a tensor type, in parallel; rows come from a row source. */
final class TensorEncoder {
    /** Fills {@code dst[0..cols)} with row {@code r}. Must be thread-safe. */
    interface RowSource {
        void row(int r, float[] dst);
    }

    private TensorEncoder() {}

    static byte[] encode(GgmlType type, int rows, int cols, RowSource source, WorkerPool pool) {
        QuantFormat f = QuantFormats.of(type);
        if (f == null || !f.canQuantize()) {
            throw new IllegalArgumentException("cannot encode tensors as " + type);
        }
        long bytes = type.bytesFor((long) rows * cols);
        if (bytes > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("tensor of " + bytes + " bytes is too large to encode in one piece");
        }
        byte[] out = new byte[(int) bytes];
        int rowBytes = (int) type.bytesFor(cols);
        pool.run((w, n) -> {
            float[] row = new float[cols];
            int r0 = WorkerPool.split(rows, w, n), r1 = WorkerPool.split(rows, w + 1, n);
            for (int r = r0; r < r1; r++) {
                source.row(r, row);
                f.quantize(row, 0, cols, out, r * rowBytes);
            }
        });
        return out;
    }
}
