package io.stride.core.tensor;

/**
 * out[b][r] = W[r] · x[b] for a weight matrix W (any supported type) and a batch of activation rows.
 * Rows of W are split statically across the worker pool; each worker decodes a weight row once into its
 * scratch row and reuses it for every token of the batch (four tokens per pass).
 */
public final class MatMul {
    /** tokens per pass over the weights during prefill (their activations stay in L2) */
    static final int TOKEN_CHUNK = 64;
    /** multiply-adds below which a product runs on the calling thread alone */
    public static final long SERIAL_WORK = 1 << 16;
    private final WorkerPool pool;
    private float[][] scratch;
    /** the activations in {@link VectorMath#evenChunksFirst} layout, for the tiled path */
    private float[] xTiles = new float[0];
    private final Job job = new Job();

    /** The current multiply's arguments; one reusable task, so a multiply allocates nothing. */
    private final class Job implements WorkerPool.Task {
        Tensor w;
        float[] x;
        float[] out;
        int batch;

        @Override
        public void run(int wk, int n) {
            int rows = w.rows();
            // whole groups of four rows per worker (the four-row kernels; repacked Q4_0 groups)
            int groups = (rows + 3) / 4;
            int r0 = Math.min(rows, 4 * WorkerPool.split(groups, wk, n));
            int r1 = Math.min(rows, 4 * WorkerPool.split(groups, wk + 1, n));
            rowsRange(w, x, xTiles, batch, out, r0, r1, scratch[wk]);
        }
    }

    public MatMul(WorkerPool pool) {
        this.pool = pool;
        this.scratch = new float[pool.size()][0];
    }

    /**
     * @param w     weights, rows × cols
     * @param x     batch × cols activations (row stride cols)
     * @param batch number of activation rows
     * @param out   batch × rows results (row stride rows)
     */
    public void multiply(Tensor w, float[] x, int batch, float[] out) {
        int cols = w.cols();
        if (scratch[0].length < 5 * cols + 16 * VectorMath.LANES) {
            for (int i = 0; i < scratch.length; i++) scratch[i] = new float[5 * cols + 16 * VectorMath.LANES];
        }
        if (tiled(w.format(), batch)) {
            if (xTiles.length < batch * cols) xTiles = new float[batch * cols];
            for (int b = 0; b < batch; b++) VectorMath.evenChunksFirst(x, b * cols, xTiles, b * cols, cols);
        }
        if ((long) w.rows() * cols * batch < SERIAL_WORK) {
            // too little work to pay for waking the other workers
            rowsRange(w, x, xTiles, batch, out, 0, w.rows(), scratch[0]);
            return;
        }
        job.w = w;
        job.x = x;
        job.out = out;
        job.batch = batch;
        try {
            pool.run(job);
        } finally {
            job.w = null;
            job.x = null;
            job.out = null;
        }
    }

    /** True when a product of this many tokens decodes rows to floats and multiplies them in register tiles. */
    static boolean tiled(QuantFormat f, int batch) {
        return batch > 1 && batch > f.fusedTokens();
    }

    /**
     * Rows r0..r1 of the product. {@code xTiles} holds x in {@link VectorMath#evenChunksFirst} layout when the
     * product is {@link #tiled}; {@code row} is the worker's scratch: four decoded rows in that layout, 16 vectors
     * of tile space, and one row in natural order.
     */
    static void rowsRange(Tensor w, float[] x, float[] xTiles, int batch, float[] out, int r0, int r1, float[] row) {
        int cols = w.cols();
        int rows = w.rows();
        long rowBytes = w.rowBytes();
        QuantFormat f = w.format();
        if (!tiled(f, batch) && batch > 1) {
            // a few tokens (speculative verification, small batches): each weight decoded once for all of them, four
            // rows per pass (Q8_0/Q4_0 straight from the mapped weights; F16 four rows widened once into scratch),
            // instead of rows decoded and re-laid out for the register tiles
            int r = r0;
            for (; r + 4 <= r1; r += 4) {
                f.dotTokensRows4(w.data(), r * rowBytes, rowBytes, x, 0, cols, batch, cols, out, r, rows, row);
            }
            for (; r < r1; r++) {
                f.dotTokens(w.data(), r * rowBytes, x, 0, cols, batch, cols, out, r, rows, row);
            }
            return;
        }
        if (batch == 1) {
            // decode: fused decode-and-dot straight from the mapped weights, four rows per pass sharing the activation
            int r = r0;
            for (; r + 4 <= r1; r += 4) {
                f.dotRows4(w.data(), r * rowBytes, rowBytes, x, 0, cols, out, r, row);
            }
            for (; r < r1; r++) {
                out[r] = f.dot(w.data(), r * rowBytes, x, 0, cols, row);
            }
            return;
        }
        // several tokens: in L2-sized chunks; rows decoded four at a time and multiplied in 4x4 (4x2, 4x1) register
        // tiles, rows and activations laid out even chunks first so that both accumulators stream contiguously
        int split = VectorMath.evenLength(cols);
        int natural = 4 * cols + 16 * VectorMath.LANES;
        for (int t0 = 0; t0 < batch; t0 += TOKEN_CHUNK) {
            int t1 = Math.min(batch, t0 + TOKEN_CHUNK);
            int r = r0;
            for (; r + 4 <= r1; r += 4) {
                for (int i = 0; i < 4; i++) {
                    f.dequantizeEvenFirst(w.data(), (long) (r + i) * rowBytes, row, i * cols, cols, row, natural);
                }
                int b = t0;
                for (; b + 4 <= t1; b += 4) {
                    VectorMath.tile4x4(row, 0, xTiles, b * cols, cols, split, out, b * rows + r, rows, row, 4 * cols);
                }
                for (; b + 2 <= t1; b += 2) {
                    VectorMath.tile4x2(row, 0, xTiles, b * cols, cols, split, out, b * rows + r, rows, row, 4 * cols);
                }
                if (b < t1) {
                    VectorMath.tile4x1(row, 0, xTiles, b * cols, cols, split, out, b * rows + r, rows, row, 4 * cols);
                }
            }
            for (; r < r1; r++) {
                f.dequantize(w.data(), (long) r * rowBytes, row, 0, cols);
                for (int b = t0; b < t1; b++) {
                    out[b * rows + r] = VectorMath.dot(row, 0, x, b * cols, cols, row, 4 * cols);
                }
            }
        }
    }
}
