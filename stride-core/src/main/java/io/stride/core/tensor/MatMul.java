package io.stride.core.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * out[b][r] = W[r] · x[b] for a weight matrix W (any supported type) and a batch of activation rows.
 * Rows of W are split statically across the worker pool in whole groups of four (the integer prefill's workers claim
 * pieces of {@link #PIECE_ROWS} rows instead). One token: fused decode-and-dot, four rows per pass. A few tokens
 * (up to the format's {@link QuantFormat#fusedTokens}): the same, each weight decoded once for all of them. More: rows
 * decoded per chunk of {@link #TOKEN_CHUNK} tokens into an aligned panel and multiplied in register tiles
 * ({@link RegisterTiles}). Every path gives each output the bits of {@link VectorMath#dot}. Q4_0 weights repacked for
 * integer products ({@link Q4_0LanesFormat}) take the integer path: the activations quantized once per product
 * ({@link Q8Activations}), then {@link LaneProduct}, whose paths agree bit for bit among themselves.
 */
public final class MatMul {
    /** tokens per pass over the weights during prefill (their activations stay in L2) */
    static final int TOKEN_CHUNK = 64;
    /**
     * values of the reduction dimension per register-tile pass (a four-row panel's block and a four-token tile's
     * block, 16 KB each, fit L1 together). Measured on Zen 5 (2048- and 5632-wide Q4_0, 1 thread): 1024 as fast as
     * whole chunk groups, 512 and 768 10-15 % slower; the aligned operands gave most of the gain.
     */
    static final int K_BLOCK = 1024;
    /** floats of one region of parked accumulators: four rows' vectors for each token of a chunk */
    private static final int PARKED = TOKEN_CHUNK * 4 * VectorMath.LANES;
    /** tokens from which the activations of an integer product are quantized by all workers (~3 µs per 2048 values) */
    static final int QUANTIZE_IN_PARALLEL = 8;
    /** multiply-adds below which a product runs on the calling thread alone */
    public static final long SERIAL_WORK = 1 << 16;
    private final WorkerPool pool;
    private final int kBlock;
    private final Workspace[] workspaces;
    /** the activations laid out by {@link RegisterTiles#layOut}, rows {@link RegisterTiles#rowStride} apart, for the tiled path */
    private MemorySegment xTiles = MemorySegment.NULL;
    private final Job job = new Job();
    private final LaneJob laneJob = new LaneJob();
    /** the activations quantized for integer products ({@link Q4_0LanesFormat} weights) */
    private final Q8Activations q8 = new Q8Activations();

    /** A worker's scratch: decoded rows, the aligned panel the register tiles read, their parked accumulators. */
    static final class Workspace {
        float[] row = new float[0];
        MemorySegment panel = MemorySegment.NULL;
        /** four regions of {@link #PARKED} floats: rows 0–3 even chunks, rows 0–3 odd, rows 4–7 even, rows 4–7 odd */
        final float[] park = new float[4 * PARKED];
        /** scratch of the integer products, for the widest {@link Q4_0LanesFormat} seen */
        LaneProduct.Scratch lanes;
        /** scratch of the activation quantization ({@link QuantizeJob}) */
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
            rowsRange(w, x, xTiles, batch, out, r0, r1, workspaces[wk], kBlock);
        }
    }

    /**
     * The current integer product ({@link Q4_0LanesFormat} weights), a task of its own: one more branch in {@link Job}
     * changed C2's inlining there and made the float decode path allocate (DecodeAllocationTest).
     */
    private final class LaneJob implements WorkerPool.Task {
        Tensor w;
        Q4_0LanesFormat f;
        float[] out;
        int batch;

        /** prefill: the next unclaimed item (token chunk c, piece p of {@link #PIECE_ROWS} rows) as c · pieces + p */
        final AtomicInteger next = new AtomicInteger();
        int chunk, chunks, pieces;

        @Override
        public void run(int wk, int n) {
            if (batch == 1) {
                int groups = w.rows() / 4;
                LaneProduct.rowsRange(w, f, q8, batch, out, 4 * WorkerPool.split(groups, wk, n), 4 * WorkerPool.split(groups, wk + 1, n),
                        workspaces[wk].lanes);
                return;
            }
            // workers claim pieces of rows, chunk after chunk: a core slowed by other work (a shared machine) takes
            // fewer pieces instead of keeping the others waiting at the end of the product
            int rows = w.rows();
            for (int i = next.getAndIncrement(); i < chunks * pieces; i = next.getAndIncrement()) {
                int t0 = i / pieces * chunk, r0 = i % pieces * PIECE_ROWS;
                LaneProduct.chunkRows(w, f, q8, t0, Math.min(batch, t0 + chunk), out, r0, Math.min(rows, r0 + PIECE_ROWS), workspaces[wk].lanes);
            }
        }
    }

    /** rows per claim of a prefill's integer product (32 rows of 128 tokens: ~50 µs of work) */
    static final int PIECE_ROWS = 32;

    /** The activation rows of the current integer product quantized in parallel, a share of the tokens per worker. */
    private final class QuantizeJob implements WorkerPool.Task {
        float[] x;
        int cols;
        int batch;

        @Override
        public void run(int wk, int n) {
            for (int b = WorkerPool.split(batch, wk, n); b < WorkerPool.split(batch, wk + 1, n); b++) {
                q8.quantize(x, b * cols, cols, b, workspaces[wk].q8Scratch);
            }
        }
    }

    private final QuantizeJob quantizeJob = new QuantizeJob();

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
        if (w.format() instanceof Q4_0LanesFormat f) {
            multiplyIntegers(w, f, x, batch, out);
            return;
        }
        if (tiled(w.format(), batch)) {
            long xs = 4L * RegisterTiles.rowStride(cols);
            if (xTiles.byteSize() < batch * xs) xTiles = Arena.ofAuto().allocate(batch * xs, 64);
            for (int b = 0; b < batch; b++) RegisterTiles.layOut(x, b * cols, xTiles, b * xs, cols);
        }
        if ((long) w.rows() * cols * batch < SERIAL_WORK) {
            // too little work to pay for waking the other workers
            rowsRange(w, x, xTiles, batch, out, 0, w.rows(), workspaces[0], kBlock);
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

    /** {@link #multiply} for {@link Q4_0LanesFormat} weights: the activations quantized once here, then every worker's rows. */
    private void multiplyIntegers(Tensor w, Q4_0LanesFormat f, float[] x, int batch, float[] out) {
        int cols = w.cols();
        q8.ensure(batch, f.groups);
        if (batch >= QUANTIZE_IN_PARALLEL && pool.size() > 1) {
            quantizeJob.x = x;
            quantizeJob.cols = cols;
            quantizeJob.batch = batch;
            try {
                pool.run(quantizeJob);
            } finally {
                quantizeJob.x = null;
            }
        } else {
            for (int b = 0; b < batch; b++) q8.quantize(x, b * cols, cols, b);
        }
        for (Workspace ws : workspaces) ws.ensureLanes(f.groups);
        if ((long) w.rows() * cols * batch < SERIAL_WORK) {
            LaneProduct.rowsRange(w, f, q8, batch, out, 0, w.rows(), workspaces[0].lanes);
            return;
        }
        laneJob.w = w;
        laneJob.f = f;
        laneJob.out = out;
        laneJob.batch = batch;
        laneJob.chunk = LaneProduct.chunk(f.groups);
        laneJob.chunks = (batch + laneJob.chunk - 1) / laneJob.chunk;
        laneJob.pieces = (w.rows() + PIECE_ROWS - 1) / PIECE_ROWS;
        laneJob.next.set(0);
        try {
            pool.run(laneJob);
        } finally {
            laneJob.w = null;
            laneJob.f = null;
            laneJob.out = null;
        }
    }

    /** True when a product of this many tokens decodes rows to floats and multiplies them in register tiles. */
    static boolean tiled(QuantFormat f, int batch) {
        return batch > 1 && batch > f.fusedTokens();
    }

    /**
     * Rows r0..r1 of the product. {@code xTiles} holds x for the register tiles when the product is {@link #tiled};
     * {@code ws} is the worker's scratch: {@code row} (five rows of floats) for decoded rows and reductions, the
     * aligned panel and the parked accumulators of the register tiles.
     */
    static void rowsRange(Tensor w, float[] x, MemorySegment xTiles, int batch, float[] out, int r0, int r1, Workspace ws, int kBlock) {
        float[] row = ws.row;
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
        // several tokens: in chunks of TOKEN_CHUNK; rows decoded eight (then four) at a time into an aligned panel and
        // multiplied in 8x3 (4x4, 4x2, 4x1) register tiles, the reduction dimension walked in blocks of kBlock values,
        // even chunks then odd chunks, so that the panel's block stays in L1 while it serves every tile
        int lanes = VectorMath.LANES;
        int split = VectorMath.evenLength(cols);
        int end = cols - cols % lanes;
        int natural = 4 * cols + 16 * lanes;
        long rs = 4L * RegisterTiles.rowStride(cols);
        MemorySegment panel = ws.panel;
        float[] park = ws.park;
        for (int t0 = 0; t0 < batch; t0 += TOKEN_CHUNK) {
            int t1 = Math.min(batch, t0 + TOKEN_CHUNK);
            int r = r0;
            while (r + 4 <= r1) {
                int height = r + 8 <= r1 ? 8 : 4;
                for (int i = 0; i < height; i++) {
                    f.dequantizeForTiles(w.data(), (long) (r + i) * rowBytes, cols, panel, i * rs, row, 0);
                }
                tiles(panel, rs, height, xTiles, t0, t1, 0, split, kBlock, park, 0, 2 * PARKED);
                tiles(panel, rs, height, xTiles, t0, t1, split, end, kBlock, park, PARKED, 3 * PARKED);
                for (int h = 0; h < height; h += 4) {
                    int even = h == 0 ? 0 : 2 * PARKED;
                    RegisterTiles.finish(panel, h * rs, rs, xTiles, t0 * rs, rs, t1 - t0, end, cols, park, even, even + PARKED, row, natural,
                            out, t0 * rows + r + h, rows);
                }
                r += height;
            }
            for (; r < r1; r++) {
                f.dequantize(w.data(), (long) r * rowBytes, row, 0, cols);
                for (int b = t0; b < t1; b++) {
                    out[b * rows + r] = VectorMath.dot(row, 0, x, b * cols, cols, row, 4 * cols);
                }
            }
        }
    }

    /**
     * Tokens t0..t1 against the panel's {@code height} (8 or 4) rows over values [k0, k1) (one of the two chunk
     * groups), block by block; each token's accumulators parked at park[p + 4·(b − t0)·LANES] (rows 0–3) and
     * park[pHigh + 4·(b − t0)·LANES] (rows 4–7).
     */
    private static void tiles(MemorySegment panel, long rs, int height, MemorySegment xTiles, int t0, int t1, int k0, int k1, int kBlock,
                              float[] park, int p, int pHigh) {
        int lanes = VectorMath.LANES;
        int k = k0;
        do {
            int kb = Math.min(k1, k + kBlock);
            boolean first = k == k0;
            int b = t0;
            if (height == 8) {
                for (; b + 3 <= t1; b += 3) {
                    RegisterTiles.tile8x3(panel, 0, rs, xTiles, b * rs, rs, 4L * k, 4L * kb, first, park, p + 4 * (b - t0) * lanes,
                            pHigh + 4 * (b - t0) * lanes);
                }
            }
            for (int h = 0; h < height; h += 4) {
                int q = (h == 0 ? p : pHigh) - 4 * t0 * lanes;
                int c = b;
                for (; c + 4 <= t1; c += 4) {
                    RegisterTiles.tile4x4(panel, h * rs, rs, xTiles, c * rs, rs, 4L * k, 4L * kb, first, park, q + 4 * c * lanes);
                }
                for (; c + 2 <= t1; c += 2) {
                    RegisterTiles.tile4x2(panel, h * rs, rs, xTiles, c * rs, rs, 4L * k, 4L * kb, first, park, q + 4 * c * lanes);
                }
                if (c < t1) {
                    RegisterTiles.tile4x1(panel, h * rs, rs, xTiles, c * rs, 4L * k, 4L * kb, first, park, q + 4 * c * lanes);
                }
            }
            k = kb;
        } while (k < k1);
    }
}
