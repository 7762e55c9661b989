package io.stride.core.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import io.stride.core.tensor.repack.LanesFormat;

import java.lang.foreign.MemorySegment;

/**
 * Activation rows quantized once per matrix product for the integer kernels of {@link LanesFormat}: 8-bit values in
 * blocks of 32 with one float scale each, as llama.cpp quantizes activations for the weight type: for Q4_0 its
 * {@code quantize_row_q8_0} (a scale per block of 32, kept as f32), for Q4_K its {@code quantize_row_q8_K} (one scale
 * per super-block of 256, repeated for its eight blocks; {@link #ensure} chooses). Laid out
 * like the weights: for each group of 32 blocks, element e of block l at {@code 1024·group + 32·e + l}, so one
 * 32-lane vector holds element e of 32 blocks; the scales in {@link #scaleIndex} order. Lanes past the last block of
 * a row are zero.
 */
public final class Q8Activations {
    /** blocks per lane group */
    public static final int GROUP = 32;
    /** values of one lane group: 32 elements of 32 blocks */
    static final int GROUP_VALUES = GROUP * 32;
    short[] q = new short[0];
    float[] d = new float[0];
    /**
     * 8 · (sum of block l's quantized values) per lane group, lane order (block l of group g at {@code 32g + l}),
     * wrapped to 16 bits: the decode kernel multiplies the raw nibbles q (0..15) and subtracts this instead of
     * subtracting 8 from every nibble; in 16-bit wrapping arithmetic that gives the exact sum of (q − 8) · x.
     */
    short[] s8 = new short[0];
    /**
     * The decode kernel's multipliers ({@link LaneKernels#rows4}), laid out like {@link #q} (same base per token and
     * group): for pair p (0..7) and k (0..3), 32 lanes at {@code 128·p + 32·k}. With x0..x3 the values of elements
     * 2p, 2p + 16, 2p + 1, 2p + 17 (the nibbles of one 16-bit weight lane, low bits first): c0 = x0 and
     * ck = xk − 16·x(k−1), wrapped to 16 bits, so that w·c0 + (w >>> 4)·c1 + (w >>> 8)·c2 + (w >>> 12)·c3 = Σ nk·xk
     * for w = Σ 16^k·nk (modulo 2^16).
     */
    short[] c = new short[0];
    /**
     * For Q6_K ({@link K6LaneKernels}): {@link #c} holds the multipliers of the nibble rows instead (pair row p, k = 0..3:
     * element 4p + k, at {@code 128·p + 32·k}), this array those of the high-bit rows (row h = 0..3, k = 0..7: element
     * 8h + k at {@code 256·h + 32·k}; ck = xk − 4·x(k−1)), and {@link #halves} the sums of each block's values 0..15
     * (lane l at {@code 64·group + l}) and 16..31 (at {@code 64·group + 32 + l}).
     */
    short[] ch = new short[0];
    short[] halves = new short[0];
    /**
     * For Q5_K ({@link K5LaneKernels#rows4}; {@link #c} holds its multipliers, {@link FieldMultipliers#multipliers5}): per lane group 96
     * values, lane l at {@code 96·group + l}: 16 · the sum of block l's values 0..14, then (at +32) of values 16..30,
     * then (at +64) of values 15 and 31: what the kernel subtracts from its three sums of q·x to make them sums of
     * (q − 16)·x, which 16 bits hold exactly.
     */
    short[] k5 = new short[0];
    /** {@link #k5} per lane group: 96 for Q5_K; for Q6_K in fields 128, 32 · the sum of block l's quarter k (values
     * 8k..8k + 7) at {@code 128·group + 32k + l} ({@link FieldMultipliers#multipliers6f}) */
    private int kStride = 3 * GROUP;
    private int groups;
    /**
     * Whether {@link #quantize} writes {@link #c}, {@link #ch} and {@link #k5}: only for a single token, the one-token
     * kernels' ({@link LaneProduct#rows4}); the tiles of several tokens read {@link #q}, and writing the multipliers of
     * a whole chunk would double the activations that a chunk keeps in L2.
     */
    private boolean multipliers;
    private LanesFormat.Kind kind = LanesFormat.Kind.Q4_0;
    /** the arrays' views for {@link CacheLines#firstAligned}, made when they are */
    private MemorySegment qView = MemorySegment.ofArray(q), cView = MemorySegment.ofArray(c), chView = MemorySegment.ofArray(ch);
    /** where the rows of {@link #q}, {@link #c}, {@link #ch} start: their first element at a cache line (as of {@link #ensure}) */
    private int qStart, cStart, chStart;

    /**
     * Room for {@code tokens} rows of {@code groups} lane groups each (grows only), and the rows' start in {@link #q}
     * and {@link #c} moved to a cache line (the vector kernels' loads then each read one line): call before each
     * product's {@link #quantize}, since the collector may have moved the arrays. {@code kind}: the weights' (q8_0
     * for Q4_0, q8_K for the K-quants, and the multipliers their kernels take).
     */
    public void ensure(int tokens, int groups, LanesFormat.Kind kind) {
        this.groups = groups;
        this.kind = kind;
        this.multipliers = tokens == 1;
        int values = tokens * groups * GROUP_VALUES + CacheLines.slack(Short.BYTES);
        if (q.length < values) {
            q = new short[values];
            d = new float[tokens * groups * GROUP];
            s8 = new short[tokens * groups * GROUP];
            c = new short[values];
            qView = MemorySegment.ofArray(q);
            cView = MemorySegment.ofArray(c);
        }
        kStride = kind == LanesFormat.Kind.Q6_K_FIELDS ? 4 * GROUP : 3 * GROUP;
        if ((kind == LanesFormat.Kind.Q5_K || kind == LanesFormat.Kind.Q6_K_FIELDS) && k5.length < tokens * groups * kStride) {
            k5 = new short[tokens * groups * kStride];
        }
        if (kind == LanesFormat.Kind.Q6_K && ch.length < values) {
            ch = new short[values];
            halves = new short[tokens * groups * 2 * GROUP];
            chView = MemorySegment.ofArray(ch);
        }
        qStart = CacheLines.firstAligned(qView, Short.BYTES);
        cStart = CacheLines.firstAligned(cView, Short.BYTES);
        chStart = CacheLines.firstAligned(chView, Short.BYTES);
    }

    /** First value of a token's row in {@link #ch}: laid out as in {@link #q}, from its own start. */
    int chBase(int token) {
        return chStart + token * groups * GROUP_VALUES;
    }

    /** First value of a token's row in {@link #k5}. */
    int kBase(int token) {
        return token * groups * kStride;
    }

    /** First value of a token's row in {@link #halves}. */
    int hBase(int token) {
        return token * groups * 2 * GROUP;
    }

    /** First value of a token's row in {@link #q}. */
    int qBase(int token) {
        return qStart + token * groups * GROUP_VALUES;
    }

    /** First value of a token's row in {@link #c}: laid out as in {@link #q}, from its own start. */
    int cBase(int token) {
        return cStart + token * groups * GROUP_VALUES;
    }

    /** First scale of a token's row in {@link #d}. */
    int dBase(int token) {
        return token * groups * GROUP;
    }

    /** First value of a token's row in {@link #s8}. */
    int sBase(int token) {
        return token * groups * GROUP;
    }

    /** Where block b's scale goes in a row of {@link #d}: per lane group, even blocks then odd ones (as {@link LaneKernels#flush} reads). */
    static int scaleIndex(int b) {
        int l = b % GROUP;
        return b - l + (l % 2 == 0 ? l / 2 : GROUP / 2 + l / 2);
    }

    /** Quantizes {@code x[xOff .. xOff + cols)} (a whole number of blocks) as the row of {@code token}. */
    public void quantize(float[] x, int xOff, int cols, int token) {
        quantize(x, xOff, cols, token, blockMajor);
    }

    /** A scratch array for {@link #quantize(float[], int, int, int, short[])}: one per thread quantizing rows at once. */
    public static short[] scratch() {
        return new short[GROUP_VALUES];
    }

    /**
     * {@link #quantize(float[], int, int, int)} with the caller's {@link #scratch}: several threads may quantize
     * different tokens' rows at once (after {@link #ensure}).
     */
    public void quantize(float[] x, int xOff, int cols, int token, short[] blockMajor) {
        int blocks = cols / 32;
        int qb = qBase(token), cb = cBase(token), db = dBase(token), sb = sBase(token);
        for (int g = 0; g < groups; g++) {
            if (kind != LanesFormat.Kind.Q4_0) {
                superBlockGroup(x, xOff + GROUP_VALUES * g, Math.min(GROUP, blocks - GROUP * g), qb + GROUP_VALUES * g, db + GROUP * g,
                        sb + GROUP * g, kind == LanesFormat.Kind.Q6_K ? hBase(token) + 2 * GROUP * g : -1, blockMajor);
            } else if (GROUP * (g + 1) <= blocks && VectorMath.LANES == 16) {
                group(x, xOff + GROUP_VALUES * g, qb + GROUP_VALUES * g, db + GROUP * g, sb + GROUP * g, blockMajor);
            } else {
                for (int b = GROUP * g; b < GROUP * (g + 1); b++) block(x, xOff, b, b < blocks, qb, db, sb);
            }
            if (!multipliers) {
                continue;
            }
            if (kind == LanesFormat.Kind.Q5_K) {
                FieldMultipliers.multipliers5(q, qb + GROUP_VALUES * g, c, cb + GROUP_VALUES * g, k5, kBase(token) + 3 * GROUP * g);
            } else if (kind == LanesFormat.Kind.Q6_K) {
                multipliers6(qb + GROUP_VALUES * g, cb + GROUP_VALUES * g, chBase(token) + GROUP_VALUES * g);
            } else if (kind == LanesFormat.Kind.Q6_K_FIELDS) {
                FieldMultipliers.multipliers6f(q, qb + GROUP_VALUES * g, c, cb + GROUP_VALUES * g, k5, kBase(token) + 4 * GROUP * g);
            } else {
                multipliers(qb + GROUP_VALUES * g, cb + GROUP_VALUES * g);
            }
        }
    }

    private static final VectorSpecies<Short> S32 = ShortVector.SPECIES_512;

    /** {@link #c} of the lane group whose values start at {@code q[off]}, into {@code c[cOff ..]}. */
    private void multipliers(int off, int cOff) {
        for (int p = 0; p < 8; p++) {
            int o = cOff + 128 * p;
            if (S32.length() == GROUP) {
                ShortVector x0 = ShortVector.fromArray(S32, q, off + GROUP * (2 * p)), x1 = ShortVector.fromArray(S32, q, off + GROUP * (2 * p + 16));
                ShortVector x2 = ShortVector.fromArray(S32, q, off + GROUP * (2 * p + 1)), x3 = ShortVector.fromArray(S32, q, off + GROUP * (2 * p + 17));
                x0.intoArray(c, o);
                x1.sub(x0.mul((short) 16)).intoArray(c, o + 32);
                x2.sub(x1.mul((short) 16)).intoArray(c, o + 64);
                x3.sub(x2.mul((short) 16)).intoArray(c, o + 96);
            } else {
                for (int l = 0; l < GROUP; l++) {
                    short x0 = q[off + GROUP * (2 * p) + l], x1 = q[off + GROUP * (2 * p + 16) + l];
                    short x2 = q[off + GROUP * (2 * p + 1) + l], x3 = q[off + GROUP * (2 * p + 17) + l];
                    c[o + l] = x0;
                    c[o + 32 + l] = (short) (x1 - 16 * x0);
                    c[o + 64 + l] = (short) (x2 - 16 * x1);
                    c[o + 96 + l] = (short) (x3 - 16 * x2);
                }
            }
        }
    }

    /**
     * The Q6_K multipliers (see {@link #ch}) of the lane group whose values start at {@code q[off]}: c at
     * {@code c[cOff ..]}, ch at {@code ch[hOff ..]} (the half sums come with the quantization, {@link #superBlockGroup}).
     */
    private void multipliers6(int off, int cOff, int hOff) {
        // no vector lives across a loop's back edge (the JIT may box one there): each multiplier loads both its values
        for (int p = 0; p < 8; p++) {
            ShortVector.fromArray(S32, q, off + GROUP * (4 * p)).intoArray(c, cOff + 128 * p);
            for (int k = 1; k < 4; k++) {
                ShortVector.fromArray(S32, q, off + GROUP * (4 * p + k))
                        .sub(ShortVector.fromArray(S32, q, off + GROUP * (4 * p + k - 1)).mul((short) 16)).intoArray(c, cOff + 128 * p + 32 * k);
            }
        }
        for (int h = 0; h < 4; h++) {
            ShortVector.fromArray(S32, q, off + GROUP * (8 * h)).intoArray(ch, hOff + 256 * h);
            for (int k = 1; k < 8; k++) {
                ShortVector.fromArray(S32, q, off + GROUP * (8 * h + k))
                        .sub(ShortVector.fromArray(S32, q, off + GROUP * (8 * h + k - 1)).mul((short) 4)).intoArray(ch, hOff + 256 * h + 32 * k);
            }
        }
    }



    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    /** one lane group's values block by block, before the transposition */
    private final short[] blockMajor = new short[GROUP_VALUES];

    /**
     * 32 whole blocks at x[xo ..]: each quantized with vectors in its natural order, then transposed so that element e
     * of block l lands at q[off + 32e + l] (quantizing with gathers across blocks is several times slower).
     */
    private void group(float[] x, int xo, int off, int dGroup, int sOff, short[] blockMajor) {
        for (int l = 0; l < GROUP; l++) {
            FloatVector v0 = FloatVector.fromArray(F, x, xo + 32 * l), v1 = FloatVector.fromArray(F, x, xo + 32 * l + 16);
            float amax = v0.abs().max(v1.abs()).reduceLanes(VectorOperators.MAX);
            float scale = amax / 127f;
            float inv = scale != 0f ? 1f / scale : 0f;
            d[dGroup + scaleIndex(l)] = scale;
            // rounded half away from zero (llama.cpp's roundf: ±0.5 with t's sign, then truncation), written out here:
            // a vector passed to a method that C2 does not inline is boxed
            FloatVector t0 = v0.mul(inv), t1 = v1.mul(inv);
            IntVector i0 = (IntVector) t0.add(t0.reinterpretAsInts().and(0x80000000).or(0x3f000000).reinterpretAsFloats())
                    .convert(VectorOperators.F2I, 0);
            IntVector i1 = (IntVector) t1.add(t1.reinterpretAsInts().and(0x80000000).or(0x3f000000).reinterpretAsFloats())
                    .convert(VectorOperators.F2I, 0);
            ((ShortVector) i0.convertShape(VectorOperators.I2S, S16, 0)).intoArray(blockMajor, 32 * l);
            ((ShortVector) i1.convertShape(VectorOperators.I2S, S16, 0)).intoArray(blockMajor, 32 * l + 16);
        }
        for (int l = 0; l < GROUP; l++) {
            int sum = 0;
            for (int e = 0; e < 32; e++) {
                short v = blockMajor[32 * l + e];
                q[off + GROUP * e + l] = v;
                sum += v;
            }
            s8[sOff + l] = (short) (8 * sum);
        }
    }

    /** the rounding constant of ggml's {@code nearest_int}: adding and subtracting 1.5 · 2^23 rounds half to even */
    private static final float ROUND = 12582912f;

    /**
     * A lane group's {@code valid} blocks at x[xo ..] quantized as q8_K (the rest zero), then transposed as in
     * {@link #group}: per super-block of 256 values, iscale = 127 / max|x|, q = nearest_int(iscale · x) (half to even),
     * scale 1 / iscale (0 and zeros for an all-zero super-block). llama.cpp divides by the signed value of largest
     * magnitude instead, which flips the signs of the scale and of every q together: the same products. With
     * {@code hOff} ≥ 0 also each block's half sums into {@link #halves}.
     */
    private void superBlockGroup(float[] x, int xo, int valid, int off, int dGroup, int sOff, int hOff, short[] blockMajor) {
        float iscale = 0f, scale = 0f;
        for (int l = 0; l < GROUP; l++) {
            if (l >= valid) {
                d[dGroup + scaleIndex(l)] = 0f;
                java.util.Arrays.fill(blockMajor, 32 * l, 32 * l + 32, (short) 0);
                continue;
            }
            if (l % 8 == 0) {
                float amax = absMax256(x, xo + 32 * l);
                iscale = amax != 0f ? 127f / amax : 0f;
                scale = amax != 0f ? 1f / iscale : 0f;
            }
            d[dGroup + scaleIndex(l)] = scale;
            FloatVector t0 = FloatVector.fromArray(F, x, xo + 32 * l).mul(iscale).add(ROUND).sub(ROUND);
            FloatVector t1 = FloatVector.fromArray(F, x, xo + 32 * l + 16).mul(iscale).add(ROUND).sub(ROUND);
            ((ShortVector) t0.convert(VectorOperators.F2I, 0).convertShape(VectorOperators.I2S, S16, 0)).intoArray(blockMajor, 32 * l);
            ((ShortVector) t1.convert(VectorOperators.F2I, 0).convertShape(VectorOperators.I2S, S16, 0)).intoArray(blockMajor, 32 * l + 16);
        }
        for (int l = 0; l < GROUP; l++) {
            int first = 0, sum = 0;
            for (int e = 0; e < 32; e++) {
                short v = blockMajor[32 * l + e];
                q[off + GROUP * e + l] = v;
                sum += v;
                if (e == 15) first = sum;
            }
            s8[sOff + l] = (short) (8 * sum);
            if (hOff >= 0) {
                halves[hOff + l] = (short) first;
                halves[hOff + GROUP + l] = (short) (sum - first);
            }
        }
    }

    /**
     * max |x| over x[o .. o + 256), straight-line: a vector carried around a loop nested in another is boxed by the
     * JIT in some compilations.
     */
    private static float absMax256(float[] x, int o) {
        FloatVector a = FloatVector.fromArray(F, x, o).abs().max(FloatVector.fromArray(F, x, o + 16).abs());
        FloatVector b = FloatVector.fromArray(F, x, o + 32).abs().max(FloatVector.fromArray(F, x, o + 48).abs());
        FloatVector c = FloatVector.fromArray(F, x, o + 64).abs().max(FloatVector.fromArray(F, x, o + 80).abs());
        FloatVector d = FloatVector.fromArray(F, x, o + 96).abs().max(FloatVector.fromArray(F, x, o + 112).abs());
        FloatVector e = FloatVector.fromArray(F, x, o + 128).abs().max(FloatVector.fromArray(F, x, o + 144).abs());
        FloatVector f = FloatVector.fromArray(F, x, o + 160).abs().max(FloatVector.fromArray(F, x, o + 176).abs());
        FloatVector g = FloatVector.fromArray(F, x, o + 192).abs().max(FloatVector.fromArray(F, x, o + 208).abs());
        FloatVector h = FloatVector.fromArray(F, x, o + 224).abs().max(FloatVector.fromArray(F, x, o + 240).abs());
        return a.max(b).max(c.max(d)).max(e.max(f).max(g.max(h))).reduceLanes(VectorOperators.MAX);
    }

    /** One block by the scalar path (the same arithmetic), or zeros past the row ({@code valid} false). */
    private void block(float[] x, int xOff, int b, boolean valid, int qb, int db, int sb) {
        int base = qb + (b / GROUP) * GROUP_VALUES + b % GROUP;
        if (!valid) {
            d[db + scaleIndex(b)] = 0f;
            s8[sb + b] = 0;
            for (int i = 0; i < 32; i++) q[base + GROUP * i] = 0;
            return;
        }
        int o = xOff + 32 * b;
        float amax = 0f;
        for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[o + i]));
        float scale = amax / 127f;
        float inv = scale != 0f ? 1f / scale : 0f;
        d[db + scaleIndex(b)] = scale;
        int sum = 0;
        for (int i = 0; i < 32; i++) {
            float t = x[o + i] * inv;
            short v = (short) (int) (t + Math.copySign(0.5f, t));
            q[base + GROUP * i] = v;
            sum += v;
        }
        s8[sb + b] = (short) (8 * sum);
    }
}
