package io.stride.core.tensor;

import io.stride.core.parallel.GuidedClaims;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tensor.kernel.LaneProduct;
import io.stride.core.tensor.kernel.Q8Activations;
import io.stride.core.tensor.repack.LanesFormat;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Products of {@link LanesFormat} weights (Q4_0, Q4_K) in integers, as llama.cpp multiplies q4_0 by q8_0: the activations
 * quantized to 8 bits once per product ({@link Q8Activations}, by all workers from a few tokens on), then each
 * worker's rows through {@link LaneProduct}, whose paths agree bit for bit. A task of its own beside the float
 * product's, so that neither's task code grows the other's.
 */
final class IntegerProduct {
    private final WorkerPool pool;
    private final Workspace[] workspaces;
    /** the activations quantized for the current product */
    private final Q8Activations q8 = new Q8Activations();
    private final LaneJob laneJob = new LaneJob();

    IntegerProduct(WorkerPool pool, Workspace[] workspaces) {
        this.pool = pool;
        this.workspaces = workspaces;
    }

    /** The current product, one reusable task so that a product allocates nothing. */
    private final class LaneJob implements WorkerPool.Task {
        Tensor w;
        LanesFormat f;
        float[] out;
        int batch;

        /** decode: the four-row groups */
        final GuidedClaims groupClaims = new GuidedClaims();
        /** prefill: the next unclaimed item (token chunk c, piece p of {@link #PIECE_ROWS} rows) as c · pieces + p */
        final AtomicInteger next = new AtomicInteger();
        int chunk, chunks, pieces;

        @Override
        public void run(int wk, int n) {
            if (batch == 1) {
                // guided claims of four-row groups: a core slowed by other work takes fewer (see GuidedClaims)
                for (int g = groupClaims.claim(); g >= 0; g = groupClaims.claim()) {
                    LaneProduct.rowsRange(w, f, q8, batch, out, 4 * g, 4 * groupClaims.end(g), workspaces[wk].lanes);
                }
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

    /** rows per claim of a prefill's integer product: small enough that a slowed core takes fewer, large enough to amortize a claim */
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

    /** out = W · x for {@link LanesFormat} weights: the activations quantized once here, then every worker's rows. */
    void multiply(Tensor w, LanesFormat f, float[] x, int batch, float[] out) {
        int cols = w.cols();
        q8.ensure(batch, f.groups, f.kind);
        if (batch >= MatMul.QUANTIZE_IN_PARALLEL && pool.size() > 1) {
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
        if ((long) w.rows() * cols * batch < MatMul.SERIAL_WORK) {
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
        if (batch == 1) laneJob.groupClaims.reset(w.rows() / 4, pool.size(), LaneProduct.touchGroups(f));
        try {
            pool.run(laneJob);
        } finally {
            laneJob.w = null;
            laneJob.f = null;
            laneJob.out = null;
        }
    }

}
