package io.stride.core.tensor;

import io.stride.core.parallel.GuidedClaims;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tensor.kernel.LaneProduct;
import io.stride.core.tensor.kernel.Prefetch;
import io.stride.core.tensor.kernel.Q8Activations;
import io.stride.core.tensor.kernel.RegisterTiles;
import io.stride.core.tensor.kernel.VectorMath;
import io.stride.core.tensor.repack.LanesFormat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * out[b][r] = W[r] · x[b] for a weight matrix W (any supported type) and a batch of activation rows.
 * Rows of W go to the worker pool in whole groups of four: claimed in decode ({@link GuidedClaims}), split statically
 * for the tiled paths (the integer prefill's workers claim pieces of {@link IntegerProduct#PIECE_ROWS} rows instead).
 * Which worker computes a row never changes its bits. One token: fused decode-and-dot, four rows per pass. A few tokens
 * (up to the format's {@link QuantFormat#fusedTokens}): the same, each weight decoded once for all of them. More: rows
 * decoded per chunk of {@link #TOKEN_CHUNK} tokens into an aligned panel and multiplied in register tiles
 * ({@link RegisterTiles}). Every path gives each output the bits of {@link VectorMath#dot}. Q4_0 and Q4_K weights repacked for
 * integer products ({@link LanesFormat}) take the integer path: the activations quantized once per product
 * ({@link Q8Activations}), then {@link LaneProduct}, whose paths agree bit for bit among themselves.
 */
public final class MatMul {
    /** tokens per pass over the weights during prefill (their activations stay in L2) */
    public static final int TOKEN_CHUNK = 64;
    /**
     * values of the reduction dimension per register-tile pass: a four-row panel's block and a four-token tile's
     * block, 16 KB each, fit L1 together
     */
    static final int K_BLOCK = 1024;
    /** floats of one region of parked accumulators: four rows' vectors for each token of a chunk */
    static final int PARKED = TOKEN_CHUNK * 4 * VectorMath.LANES;
    /** tokens from which the activations of an integer product are quantized by all workers instead of the caller */
    static final int QUANTIZE_IN_PARALLEL = 8;
    /** multiply-adds below which a product runs on the calling thread alone */
    public static final long SERIAL_WORK = 1 << 16;
    private final WorkerPool pool;
    private final int kBlock;
    private final Workspace[] workspaces;
    /** the activations laid out by {@link RegisterTiles#layOut}, rows {@link RegisterTiles#rowStride} apart, for the tiled path */
    private MemorySegment xTiles = MemorySegment.NULL;
    private final Job job = new Job();
    private final IntegerProduct integers;

    /** The current multiply's arguments; one reusable task, so a multiply allocates nothing. */
    private final class Job implements WorkerPool.Task {
        Tensor w;
        float[] x;
        float[] out;
        int batch;

        /** decode (no tiles): guided claims of four-row groups, so that a core slowed by other work takes fewer */
        final GuidedClaims groupClaims = new GuidedClaims();
        boolean claimed;

        @Override
        public void run(int wk, int n) {
            int rows = w.rows();
            if (claimed) {
                for (int g = groupClaims.claim(); g >= 0; g = groupClaims.claim()) {
                    FloatProduct.rowsRange(w, x, xTiles, batch, out, 4 * g, Math.min(rows, 4 * groupClaims.end(g)), workspaces[wk], kBlock);
                }
                return;
            }
            // whole groups of four rows per worker (the four-row kernels; repacked Q4_0 groups)
            int groups = (rows + 3) / 4;
            int r0 = Math.min(rows, 4 * WorkerPool.split(groups, wk, n));
            int r1 = Math.min(rows, 4 * WorkerPool.split(groups, wk + 1, n));
            FloatProduct.rowsRange(w, x, xTiles, batch, out, r0, r1, workspaces[wk], kBlock);
        }
    }

    public MatMul(WorkerPool pool) {
        this(pool, K_BLOCK);
    }

    /** With another reduction block for the register tiles (tests use small ones to cross block boundaries). */
    MatMul(WorkerPool pool, int kBlock) {
        if (kBlock <= 0 || kBlock % 16 != 0) throw new IllegalArgumentException("kBlock must be a positive multiple of 16: " + kBlock);
        this.pool = pool;
        this.kBlock = kBlock;
        this.workspaces = new Workspace[pool.size()];
        for (int i = 0; i < workspaces.length; i++) workspaces[i] = new Workspace();
        this.integers = new IntegerProduct(pool, workspaces);
    }

    /**
     * @param w     weights, rows × cols
     * @param x     batch × cols activations (row stride cols)
     * @param batch number of activation rows
     * @param out   batch × rows results (row stride rows)
     */
    public void multiply(Tensor w, float[] x, int batch, float[] out) {
        int cols = w.cols();
        for (Workspace ws : workspaces) ws.ensure(cols);
        if (w.format() instanceof LanesFormat f) {
            integers.multiply(w, f, x, batch, out);
            return;
        }
        if (tiled(w.format(), batch)) {
            long xs = 4L * RegisterTiles.rowStride(cols);
            if (xTiles.byteSize() < batch * xs) xTiles = Arena.ofAuto().allocate(batch * xs, 64);
            for (int b = 0; b < batch; b++) RegisterTiles.layOut(x, b * cols, xTiles, b * xs, cols);
        }
        if ((long) w.rows() * cols * batch < SERIAL_WORK) {
            // too little work to pay for waking the other workers
            FloatProduct.rowsRange(w, x, xTiles, batch, out, 0, w.rows(), workspaces[0], kBlock);
            return;
        }
        job.w = w;
        job.x = x;
        job.out = out;
        job.batch = batch;
        job.claimed = !tiled(w.format(), batch);
        if (job.claimed) {
            job.groupClaims.reset((w.rows() + 3) / 4, pool.size(), Prefetch.unitsPerChunk(4 * w.type().bytesFor(cols)));
        }
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


}
