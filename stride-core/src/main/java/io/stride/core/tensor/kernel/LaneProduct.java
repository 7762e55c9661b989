package io.stride.core.tensor.kernel;

import io.stride.core.tensor.MatMul;
import io.stride.core.tensor.Tensor;
import io.stride.core.tensor.repack.LanesFormat;
import io.stride.core.tensor.repack.Q4KLanesFormat;
import io.stride.core.tensor.repack.Q4_0LanesFormat;
import io.stride.core.tensor.repack.Q5KLanesFormat;
import io.stride.core.tensor.repack.Q6KFieldsFormat;
import io.stride.core.tensor.repack.Q6KLanesFormat;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Rows of a product with {@link LanesFormat} weights (Q4_0, Q4_K, Q5_K, Q6_K in 6-bit fields, Q3_K as Q6_K in packed lanes) and {@link Q8Activations}, in
 * groups of four rows. One token: {@link LaneKernels#rows4} ({@link K5LaneKernels#rows4} for Q5_K, {@link K6LaneKernels#rows4},
 * {@link K6FieldKernels#rows4} for Q6_K) straight from the weights. More: the
 * four rows decoded once to 16-bit values (the panel) and
 * multiplied in 4×4 (then 4×1) register tiles per lane group, {@link #chunk} tokens per pass. Both scale each lane
 * group's integer sums into sixteen float lanes per (row, token) with the operations of the kind's flush
 * ({@link LaneKernels#flush}, of which {@link LaneKernels#flushRows4} and {@link LaneKernels#flush4x4} are four-row
 * forms; {@link KLaneKernels#flushQ4K}; {@link K5LaneKernels#flush}; {@link K6LaneKernels#flush}), summed at the end by {@link VectorMath#laneSums4}:
 * the same operations on the same values, so the same bits.
 */
public final class LaneProduct {
    private static final int G = Q8Activations.GROUP_VALUES;

    /** A worker's scratch for these products. */
    public static final class Scratch {
        final short[] acc = new short[4 * 16 * 32];
        final float[] facc = new float[4 * 16];
        final short[] panel;
        /** {@link #panel}'s view for {@link CacheLines#firstAligned} */
        final MemorySegment panelView;
        /** per (row, lane group): 32 block scales (Q4_0), or the float part of {@link KLaneKernels#intScales} (Q4_K, Q5_K)
         * or {@link K6LaneKernels#scales} (Q6_K) */
        final float[] panelScales;
        /** Q4_K's, Q5_K's and Q6_K's integer sub-block scales per (row, lane group) ({@link KLaneKernels#intScales},
         * {@link K6LaneKernels#scales}), 64 apart like {@link #panelScales} */
        final int[] panelSc;
        /** one (row, token)'s T for the Q5_K and Q6_K scale steps of the tiles ({@link K5LaneKernels#tileSums}, {@link K6LaneKernels#tileSums}) */
        final int[] t6 = new int[64];
        final float[] park = new float[MAX_CHUNK * 4 * 16];
        public final int groups;
        /** consumes {@link Prefetch#touch}'s sums */
        long sink;

        public Scratch(int groups) {
            this.groups = groups;
            panel = new short[4 * groups * G + CacheLines.slack(Short.BYTES)];
            panelView = MemorySegment.ofArray(panel);
            panelScales = new float[4 * groups * 64];
            panelSc = new int[4 * groups * 64];
        }
    }

    private LaneProduct() {}

    /** Rows r0..r1 (multiples of four) of the product for {@code batch} tokens into {@code out[t·rows + r]}. */
    public static void rowsRange(Tensor w, LanesFormat f, Q8Activations a, int batch, float[] out, int r0, int r1, Scratch s) {
        int rows = w.rows();
        if (batch == 1) {
            // chunks of four-row groups, each touched (pulled into cache) before the kernel reads it: see Prefetch
            int step = 4 * touchGroups(f);
            for (int c = r0; c < r1; c += step) {
                int ce = Math.min(r1, c + step);
                s.sink += Prefetch.touch(w.data(), f.record(c, 0), f.record(ce, 0));
                for (int r = c; r < ce; r += 4) rows4(w.data(), f, r, a, 0, out, r, s);
            }
            return;
        }
        // chunk by chunk of tokens, so that a chunk's activations stay in L2 while every group of four rows passes
        // (with all tokens inside, a long prompt's activations would stream from L3 for every four rows);
        // each chunk decodes the rows again, a small part of its work
        int chunk = chunk(f.groups);
        for (int t0 = 0; t0 < batch; t0 += chunk) chunkRows(w, f, a, t0, Math.min(batch, t0 + chunk), out, r0, r1, s);
    }

    /** Four-row groups of {@code f} per {@link Prefetch#CHUNK} touched at once in decode (at least one). */
    public static int touchGroups(LanesFormat f) {
        return Prefetch.unitsPerChunk((long) f.groups * f.recordBytes);
    }

    /**
     * Rows r0..r1 (multiples of four) of the product for tokens t0..t1 (at most {@link #chunk} of them) into
     * {@code out[t·rows + r]}: each group of four rows decoded into the panel, then multiplied in register tiles.
     */
    public static void chunkRows(Tensor w, LanesFormat f, Q8Activations a, int t0, int t1, float[] out, int r0, int r1, Scratch s) {
        int rows = w.rows();
        int start = CacheLines.firstAligned(s.panelView, Short.BYTES); // the panel's rows each from a cache line
        for (int r = r0; r < r1; r += 4) {
            // the group's records pulled into cache by one tight loop of loads (many misses in flight) before the
            // decode reads them: a pass over the rows reads the weights from DRAM (see Prefetch)
            s.sink += Prefetch.touch(w.data(), f.record(r, 0), f.record(r + 4, 0));
            for (int g = 0; g < f.groups; g++) {
                long rec = f.record(r, g);
                for (int j = 0; j < 4; j++) {
                    int p = start + (j * f.groups + g) * G;
                    switch (f.kind) {
                        case Q4_0 -> {
                            LaneKernels.decode(w.data(), LanesFormat.quants(rec, j), s.panel, p);
                            LaneKernels.scales(w.data(), Q4_0LanesFormat.scales(rec, j), s.panelScales, (j * f.groups + g) * 32);
                        }
                        case Q4_K -> {
                            LaneKernels.decode(w.data(), LanesFormat.quants(rec, j), s.panel, p);
                            KLaneKernels.intScales(w.data(), Q4KLanesFormat.section(rec, j), s.panelScales, (j * f.groups + g) * 64,
                                    s.panelSc, (j * f.groups + g) * 64);
                        }
                        case Q5_K -> {
                            K5LaneKernels.decode(w.data(), rec, j, s.panel, p);
                            KLaneKernels.intScales(w.data(), Q5KLanesFormat.section(rec, j), s.panelScales, (j * f.groups + g) * 64,
                                    s.panelSc, (j * f.groups + g) * 64);
                        }
                        case Q6_K -> {
                            K6LaneKernels.decode(w.data(), rec, j, s.panel, p);
                            K6LaneKernels.scales(w.data(), Q6KLanesFormat.section(rec, j), s.panelScales, (j * f.groups + g) * 64,
                                    s.panelSc, (j * f.groups + g) * 64);
                        }
                        case Q6_K_FIELDS -> {
                            K6FieldKernels.decode(w.data(), rec, j, s.panel, p);
                            K6LaneKernels.scales(w.data(), Q6KFieldsFormat.section(rec, j), s.panelScales, (j * f.groups + g) * 64,
                                    s.panelSc, (j * f.groups + g) * 64);
                        }
                    }
                }
            }
            tiles(f, a, t0, t1, start, s);
            for (int t = t0; t < t1; t++) VectorMath.laneSums4(s.park, (t - t0) * 64, out, t * rows + r);
        }
    }

    /**
     * Tokens per pass over the rows: as many as keep their quantized activations within {@link #CHUNK_BYTES} (L2 holds
     * them while all rows pass; every pass decodes the rows again), from {@link MatMul#TOKEN_CHUNK} to {@link #MAX_CHUNK}.
     */
    public static int chunk(int groups) {
        long bytes = 2L * groups * G;
        return (int) Math.max(MatMul.TOKEN_CHUNK, Math.min(MAX_CHUNK, CHUNK_BYTES / bytes / 4 * 4));
    }

    static final int MAX_CHUNK = 128;
    static final long CHUNK_BYTES = 512 * 1024;

    /** Tokens t0..t1 against the four rows in the panel (from panel[start]): their float lanes into park[64·(t − t0) + 16·r ..]. */
    private static void tiles(LanesFormat f, Q8Activations a, int t0, int t1, int start, Scratch s) {
        Arrays.fill(s.park, 0, (t1 - t0) * 64, 0f);
        int ps = f.groups * G;
        int xs = a.qBase(1) - a.qBase(0);
        for (int g = 0; g < f.groups; g++) {
            int p = start + g * G;
            if (f.kind == LanesFormat.Kind.Q4_K) {
                mins(f, a, g, p, ps, t0, t1, s);
                continue;
            }
            if (f.kind == LanesFormat.Kind.Q5_K) {
                fiveBit(f, a, g, p, ps, t0, t1, s);
                continue;
            }
            if (f.kind == LanesFormat.Kind.Q6_K || f.kind == LanesFormat.Kind.Q6_K_FIELDS) {
                sixBit(f, a, g, p, ps, t0, t1, s);
                continue;
            }
            int t = t0;
            for (; t + 4 <= t1; t += 4) {
                LaneKernels.tile4x4(s.panel, p, ps, a.q, a.qBase(t) + g * G, xs, s.acc);
                LaneKernels.flush4x4(s.acc, s.panelScales, g * 32, f.groups * 32, a.d, a.dBase(t) + 32 * g, a.dBase(1) - a.dBase(0), s.park, 64 * (t - t0));
            }
            for (; t < t1; t++) {
                LaneKernels.tile4x1(s.panel, p, ps, a.q, a.qBase(t) + g * G, s.acc);
                for (int r = 0; r < 4; r++) {
                    LaneKernels.flush(s.acc, 32 * r, s.panelScales, (r * f.groups + g) * 32, a.d, a.dBase(t) + 32 * g, s.park, 64 * (t - t0) + 16 * r);
                }
            }
        }
    }

    /** {@link #tiles}' lane group g for Q4_K: the same tiles, flushed by {@link KLaneKernels#flushQ4K}. */
    private static void mins(LanesFormat f, Q8Activations a, int g, int p, int ps, int t0, int t1, Scratch s) {
        int xs = a.qBase(1) - a.qBase(0);
        int t = t0;
        for (; t + 4 <= t1; t += 4) {
            LaneKernels.tile4x4(s.panel, p, ps, a.q, a.qBase(t) + g * G, xs, s.acc);
            for (int u = 0; u < 4; u++) {
                for (int r = 0; r < 4; r++) {
                    KLaneKernels.flushQ4K(s.acc, 128 * u + 32 * r, a.s8, a.sBase(t + u) + 32 * g, s.panelScales, (r * f.groups + g) * 64,
                            s.panelSc, (r * f.groups + g) * 64, a.d, a.dBase(t + u) + 32 * g, s.park, 64 * (t + u - t0) + 16 * r);
                }
            }
        }
        for (; t < t1; t++) {
            LaneKernels.tile4x1(s.panel, p, ps, a.q, a.qBase(t) + g * G, s.acc);
            for (int r = 0; r < 4; r++) {
                KLaneKernels.flushQ4K(s.acc, 32 * r, a.s8, a.sBase(t) + 32 * g, s.panelScales, (r * f.groups + g) * 64,
                        s.panelSc, (r * f.groups + g) * 64, a.d, a.dBase(t) + 32 * g, s.park, 64 * (t - t0) + 16 * r);
            }
        }
    }

    /**
     * {@link #tiles}' lane group g for Q5_K: two tiles over the halves of each block (decoded q − 16; values 0..511 and
     * 512..1023 of the group) into {@code acc[0 ..]} and {@code [512 ..]}, then {@link K5LaneKernels#tileSums} and
     * {@link K5LaneKernels#flush}.
     */
    private static void fiveBit(LanesFormat f, Q8Activations a, int g, int p, int ps, int t0, int t1, Scratch s) {
        int xs = a.qBase(1) - a.qBase(0);
        int t = t0;
        for (; t + 4 <= t1; t += 4) {
            int x = a.qBase(t) + g * G;
            LaneKernels.tile4x4(s.panel, p, ps, a.q, x, xs, s.acc, 0, G / 2, 0);
            LaneKernels.tile4x4(s.panel, p, ps, a.q, x, xs, s.acc, G / 2, G, 512);
            for (int u = 0; u < 4; u++) {
                for (int r = 0; r < 4; r++) {
                    int o = 32 * (4 * u + r), so = a.sBase(t + u) + 32 * g;
                    K5LaneKernels.tileSums(s.acc, o, o + 512, a.s8, so, s.t6);
                    K5LaneKernels.flush(s.t6, a.s8, so, s.panelScales, (r * f.groups + g) * 64, s.panelSc, (r * f.groups + g) * 64,
                            a.d, a.dBase(t + u) + 32 * g, s.park, 64 * (t + u - t0) + 16 * r);
                }
            }
        }
        for (; t < t1; t++) {
            int x = a.qBase(t) + g * G;
            LaneKernels.tile4x1(s.panel, p, ps, a.q, x, s.acc, 0, G / 2, 0);
            LaneKernels.tile4x1(s.panel, p, ps, a.q, x, s.acc, G / 2, G, 128);
            for (int r = 0; r < 4; r++) {
                int o = 32 * r, so = a.sBase(t) + 32 * g;
                K5LaneKernels.tileSums(s.acc, o, o + 128, a.s8, so, s.t6);
                K5LaneKernels.flush(s.t6, a.s8, so, s.panelScales, (r * f.groups + g) * 64, s.panelSc, (r * f.groups + g) * 64,
                        a.d, a.dBase(t) + 32 * g, s.park, 64 * (t - t0) + 16 * r);
            }
        }
    }

    /**
     * {@link #tiles}' lane group g for Q6_K (either layout): four tiles over the quarters of each block (values 0..255, 256..511, 512..767,
     * 768..1023 of the group, so that the 16-bit sums of q − 32 cannot overflow) into {@code acc[0 ..]}, {@code [512 ..]},
     * {@code [1024 ..]}, {@code [1536 ..]}, then {@link K6LaneKernels#tileSums} and {@link K6LaneKernels#flush}.
     */
    private static void sixBit(LanesFormat f, Q8Activations a, int g, int p, int ps, int t0, int t1, Scratch s) {
        int xs = a.qBase(1) - a.qBase(0);
        int q = G / 4;
        int t = t0;
        for (; t + 4 <= t1; t += 4) {
            int x = a.qBase(t) + g * G;
            for (int k = 0; k < 4; k++) LaneKernels.tile4x4(s.panel, p, ps, a.q, x, xs, s.acc, k * q, (k + 1) * q, 512 * k);
            for (int u = 0; u < 4; u++) {
                for (int r = 0; r < 4; r++) {
                    int o = 32 * (4 * u + r);
                    K6LaneKernels.tileSums(s.acc, o, o + 512, o + 1024, o + 1536, s.t6);
                    K6LaneKernels.flush(s.t6, s.panelSc, (r * f.groups + g) * 64, s.panelScales, (r * f.groups + g) * 64,
                            a.d, a.dBase(t + u) + 32 * g, s.park, 64 * (t + u - t0) + 16 * r);
                }
            }
        }
        for (; t < t1; t++) {
            int x = a.qBase(t) + g * G;
            for (int k = 0; k < 4; k++) LaneKernels.tile4x1(s.panel, p, ps, a.q, x, s.acc, k * q, (k + 1) * q, 128 * k);
            for (int r = 0; r < 4; r++) {
                int o = 32 * r;
                K6LaneKernels.tileSums(s.acc, o, o + 128, o + 256, o + 384, s.t6);
                K6LaneKernels.flush(s.t6, s.panelSc, (r * f.groups + g) * 64, s.panelScales, (r * f.groups + g) * 64,
                        a.d, a.dBase(t) + 32 * g, s.park, 64 * (t - t0) + 16 * r);
            }
        }
    }

    /** Rows r..r+3 (a group of four) times token {@code t}, straight from the weights, into out[o .. o + 4). */
    public static void rows4(MemorySegment w, LanesFormat f, int r, Q8Activations a, int t, float[] out, int o, Scratch s) {
        Arrays.fill(s.facc, 0f);
        LanesFormat.Kind kind = f.kind;
        for (int g = 0; g < f.groups; g++) {
            long rec = f.record(r, g);
            if (kind == LanesFormat.Kind.Q6_K_FIELDS) {
                K6FieldKernels.rows4(w, rec, a.c, a.cBase(t) + g * G, a.q, a.qBase(t) + g * G, a.k5, a.kBase(t) + 128 * g, s.acc);
                K6FieldKernels.flushRows4(w, Q6KFieldsFormat.section(rec, 0), s.acc, a.d, a.dBase(t) + 32 * g, s.facc);
                continue;
            }
            if (kind == LanesFormat.Kind.Q6_K) {
                K6LaneKernels.rows4(w, rec, a.c, a.cBase(t) + g * G, a.ch, a.chBase(t) + g * G, s.acc);
                K6LaneKernels.flushRows4(w, rec, s.acc, a.halves, a.hBase(t) + 64 * g, a.d, a.dBase(t) + 32 * g, s.facc);
                continue;
            }
            if (kind == LanesFormat.Kind.Q5_K) {
                K5LaneKernels.rows4(w, rec, a.c, a.cBase(t) + g * G, a.k5, a.kBase(t) + 96 * g, s.acc);
                K5LaneKernels.flushRows4(w, rec, s.acc, a.s8, a.sBase(t) + 32 * g, a.d, a.dBase(t) + 32 * g, s.facc);
                continue;
            }
            LaneKernels.rows4(w, rec, a.c, a.cBase(t) + g * G, a.s8, a.sBase(t) + 32 * g, s.acc);
            if (kind == LanesFormat.Kind.Q4_K) {
                KLaneKernels.flushRows4(w, rec, s.acc, a.s8, a.sBase(t) + 32 * g, a.d, a.dBase(t) + 32 * g, s.facc);
            } else {
                LaneKernels.flushRows4(w, rec, s.acc, a.d, a.dBase(t) + 32 * g, s.facc);
            }
        }
        VectorMath.laneSums4(s.facc, 0, out, o);
    }
}
