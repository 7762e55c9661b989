package io.stride.core.tensor;

import io.stride.core.tensor.kernel.RegisterTiles;
import io.stride.core.tensor.kernel.VectorMath;

import java.lang.foreign.MemorySegment;

/**
 * A worker's share of a product in floats: one token through the formats' fused decode-and-dot kernels, a few tokens
 * through their fused multi-token kernels, more through rows decoded into an aligned panel and multiplied in register
 * tiles. Every path gives each output the bits of {@link VectorMath#dot}.
 */
final class FloatProduct {
    private FloatProduct() {}

    /**
     * Rows r0..r1 of the product. {@code xTiles} holds x for the register tiles when the product is {@link MatMul#tiled};
     * {@code ws} is the worker's scratch: {@code row} (five rows of floats) for decoded rows and reductions, the
     * aligned panel and the parked accumulators of the register tiles.
     */
    static void rowsRange(Tensor w, float[] x, MemorySegment xTiles, int batch, float[] out, int r0, int r1, Workspace ws, int kBlock) {
        float[] row = ws.row;
        int cols = w.cols();
        int rows = w.rows();
        long rowBytes = w.rowBytes();
        QuantFormat f = w.format();
        if (!MatMul.tiled(f, batch) && batch > 1) {
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
        for (int t0 = 0; t0 < batch; t0 += MatMul.TOKEN_CHUNK) {
            int t1 = Math.min(batch, t0 + MatMul.TOKEN_CHUNK);
            int r = r0;
            while (r + 4 <= r1) {
                int height = r + 8 <= r1 ? 8 : 4;
                for (int i = 0; i < height; i++) {
                    f.dequantizeForTiles(w.data(), (long) (r + i) * rowBytes, cols, panel, i * rs, row, 0);
                }
                tiles(panel, rs, height, xTiles, t0, t1, 0, split, kBlock, park, 0, 2 * MatMul.PARKED);
                tiles(panel, rs, height, xTiles, t0, t1, split, end, kBlock, park, MatMul.PARKED, 3 * MatMul.PARKED);
                for (int h = 0; h < height; h += 4) {
                    int even = h == 0 ? 0 : 2 * MatMul.PARKED;
                    RegisterTiles.finish(panel, h * rs, rs, xTiles, t0 * rs, rs, t1 - t0, end, cols, park, even, even + MatMul.PARKED, row, natural,
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
    }}
