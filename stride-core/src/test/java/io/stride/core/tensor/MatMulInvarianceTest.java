package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tensor.format.KQuantScales;
import io.stride.core.tensor.kernel.VectorMath;
import io.stride.core.tensor.repack.InterleavedRowsFormat;
import io.stride.core.tensor.repack.LanesFormat;
import io.stride.core.tensor.repack.Q4KLanesFormat;
import io.stride.core.tensor.repack.Q4_0LanesFormat;
import io.stride.core.tensor.repack.Q5KLanesFormat;
import io.stride.core.tensor.repack.Q6KFieldsFormat;
import io.stride.core.tensor.repack.Q6KLanesFormat;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every path of a matrix product (fused single-token dot, fused multi-token dots, decoded rows in 4×4 / 4×2 / 4×1
 * tiles, leftover rows) gives each output exactly the bits of the canonical dot product of the decoded row, for
 * every tensor type and for every batch size: the kernel-level half of batch invariance.
 */
class MatMulInvarianceTest {
    private static final GgmlType[] TYPES = {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0,
            GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
            GgmlType.IQ4_NL, GgmlType.IQ4_XS};

    @Test
    void everyBatchSizeGivesTheBitsOfTheCanonicalDot() {
        for (GgmlType type : TYPES) check(type, 9, false, MatMul.K_BLOCK);
    }

    /** Register tiles that walk the reduction dimension in several blocks (the last one partial) park and resume exactly. */
    @Test
    void reductionBlocksGiveTheSameBits() {
        for (GgmlType type : new GgmlType[]{GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_K}) check(type, 9, false, 32);
        check(GgmlType.Q4_0, 12, true, 48);
    }

    /** Weights repacked at load time (Q4_0, Q8_0: four rows interleaved) give the bits of the file layout's canonical dot. */
    @Test
    void repackedWeightsGiveTheSameBits() {
        for (GgmlType type : new GgmlType[]{GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.IQ4_NL, GgmlType.IQ4_XS}) {
            check(type, 12, true, MatMul.K_BLOCK);
            check(type, 20, true, MatMul.K_BLOCK);
        }
    }

    /**
     * Q4_0 repacked for integer products (the default; {@code -Dstride.q4_0=float} keeps the float path) gives the bits of {@link #integerDot},
     * llama.cpp's q4_0 · q8_0 product written out scalar, on every path. Widths: one partial lane group, one whole
     * and one partial (the vector quantizer), 5632 (tinyllama's FFN, a padded last group).
     */
    @Test
    void integerQ4_0GivesTheBitsOfTheScalarIntegerProduct() {
        for (int rows : new int[]{12, 20}) check(GgmlType.Q4_0, rows, true, MatMul.K_BLOCK, 32 * 7, true);
        check(GgmlType.Q4_0, 8, true, MatMul.K_BLOCK, 32 * 40, true);
        check(GgmlType.Q4_0, 4, true, MatMul.K_BLOCK, 5632, true);
    }

    /**
     * Q4_K repacked for integer products gives the bits of {@link #integerDotQ4K} on every path. Widths: two super-blocks
     * (one partial lane group), eight (one whole), 22 (tinyllama's FFN: a padded last group).
     */
    @Test
    void integerQ4_KGivesTheBitsOfTheScalarIntegerProduct() {
        check(GgmlType.Q4_K, 12, true, MatMul.K_BLOCK, 512, true);
        check(GgmlType.Q4_K, 8, true, MatMul.K_BLOCK, 2048, true);
        check(GgmlType.Q4_K, 4, true, MatMul.K_BLOCK, 5632, true);
    }

    /**
     * Q3_K repacked into Q6_K's lanes gives the bits of {@link #integerDotQ6K} of the same values written as Q6_K
     * (d, scales − 32, q + 32): its integer products are Q6_K's, exactly.
     */
    @Test
    void integerQ3_KIsComputedAsQ6_K() {
        check(GgmlType.Q3_K, 12, true, MatMul.K_BLOCK, 512, true);
        check(GgmlType.Q3_K, 4, true, MatMul.K_BLOCK, 5632, true);
    }

    /** A Q3_K row as Q6_K bytes with the same values (ggml's layouts: ql low nibbles, qh high pairs, int8 scales, d). */
    static byte[] q3AsQ6(byte[] q3) {
        byte[] out = new byte[q3.length / 110 * 210];
        for (int b = 0; b < q3.length / 110; b++) {
            int o = 110 * b, p = 210 * b;
            int[] q = new int[256];
            for (int i = 0; i < 256; i++) {
                int half = i / 128, shift = (i % 128) / 32, g = (i % 32) / 16, l = i % 16;
                int lo = ((q3[o + 32 + 32 * half + 16 * g + l] & 0xff) >>> (2 * shift)) & 3;
                q[i] = lo - ((q3[o + 16 * g + l] & (1 << (4 * half + shift))) != 0 ? 0 : 4) + 32;
            }
            for (int n = 0; n < 2; n++) {
                for (int l = 0; l < 32; l++) {
                    int a = q[128 * n + l], c = q[128 * n + l + 32], e = q[128 * n + l + 64], f = q[128 * n + l + 96];
                    out[p + 64 * n + l] = (byte) ((a & 15) | (e & 15) << 4);
                    out[p + 64 * n + l + 32] = (byte) ((c & 15) | (f & 15) << 4);
                    out[p + 128 + 32 * n + l] = (byte) ((a >> 4) | (c >> 4) << 2 | (e >> 4) << 4 | (f >> 4) << 6);
                }
            }
            for (int j = 0; j < 16; j++) {
                int low = j < 8 ? q3[o + 96 + j] & 0xF : (q3[o + 96 + j - 8] & 0xff) >>> 4;
                int high = ((q3[o + 104 + j % 4] & 0xff) >>> (2 * (j / 4))) & 3;
                out[p + 192 + j] = (byte) ((low | high << 4) - 32);
            }
            out[p + 208] = q3[o + 108];
            out[p + 209] = q3[o + 109];
        }
        return out;
    }

    /** Q5_K repacked for integer products gives the bits of {@link #integerDotQ5K} on every path (widths as for Q4_K). */
    @Test
    void integerQ5_KGivesTheBitsOfTheScalarIntegerProduct() {
        check(GgmlType.Q5_K, 12, true, MatMul.K_BLOCK, 512, true);
        check(GgmlType.Q5_K, 8, true, MatMul.K_BLOCK, 2048, true);
        check(GgmlType.Q5_K, 4, true, MatMul.K_BLOCK, 5632, true);
    }

    /**
     * The integer product of the repacked Q5_K format: {@link #integerDotQ4K}'s (the same integer scale step, as
     * llama.cpp's q5_K · q8_K) with q = lo + 16·hb.
     */
    static float integerDotQ5K(byte[] row, float[] x, int xOff, int cols) {
        return kQuantDot(row, x, xOff, cols, 176, 48, 16);
    }

    /** Q6_K repacked for integer products gives the bits of {@link #integerDotQ6K} on every path (widths as for Q4_K). */
    @Test
    void integerQ6_KGivesTheBitsOfTheScalarIntegerProduct() {
        check(GgmlType.Q6_K, 12, true, MatMul.K_BLOCK, 512, true);
        check(GgmlType.Q6_K, 8, true, MatMul.K_BLOCK, 2048, true);
        check(GgmlType.Q6_K, 4, true, MatMul.K_BLOCK, 5632, true);
    }

    /**
     * The integer product of the repacked Q6_K format, independently: x quantized as q8_K (see {@link #integerDotQ4K});
     * for each sub-block of 16, T = Σ (q − 32)·xq; lane k of each lane group sums I = Σ sc·T over blocks 2k and 2k + 1
     * (one super-block; exact), then adds I·(d·xd) with one fused multiply-add (llama.cpp's order of q6_K · q8_K); the
     * 16 lanes summed pairwise.
     */
    static float integerDotQ6K(byte[] row, float[] x, int xOff, int cols) {
        int blocks = cols / 32;
        int padded = (blocks + 31) / 32 * 32;
        float[] lanes = new float[16];
        float iscale = 0f, xd = 0f;
        int sum = 0;
        for (int b = 0; b < padded; b++) {
            int k = (b % 32) / 2;
            float d = 0f;
            if (b < blocks) {
                int o = 210 * (b / 8);
                if (b % 8 == 0) {
                    float amax = 0f;
                    for (int i = 0; i < 256; i++) amax = Math.max(amax, Math.abs(x[xOff + 32 * b + i]));
                    iscale = amax != 0f ? 127f / amax : 0f;
                    xd = amax != 0f ? 1f / iscale : 0f;
                }
                d = Float.float16ToFloat((short) ((row[o + 208] & 0xff) | (row[o + 209] << 8)));
                for (int half = 0; half < 2; half++) {
                    int t = 0;
                    for (int e = 16 * half; e < 16 * half + 16; e++) {
                        int i = 32 * (b % 8) + e;
                        int n = i / 128, group = (i % 128) / 32, l = i % 32;
                        int lo = row[o + 64 * n + l + 32 * (group % 2)] & 0xff, hi = row[o + 128 + 32 * n + l] & 0xff;
                        int q = (group < 2 ? lo & 15 : lo >>> 4) | ((hi >>> (2 * group)) & 3) << 4;
                        t += (q - 32) * (int) Math.rint(x[xOff + 32 * b + e] * iscale);
                    }
                    sum += row[o + 192 + i16(b, half)] * t;
                }
            }
            if (b % 2 == 1) {
                lanes[k] = Math.fma((float) sum, d * (b < blocks ? xd : 0f), lanes[k]);
                sum = 0;
            }
        }
        for (int h = 8; h > 0; h >>= 1) {
            for (int i = 0; i < h; i++) lanes[i] += lanes[i + h];
        }
        return lanes[0];
    }

    /** The Q6_K scale index (sub-block of 16 in its super-block) of half {@code half} of block b. */
    private static int i16(int b, int half) {
        return 2 * (b % 8) + half;
    }

    /**
     * The integer product of the repacked Q4_K format, independently: x quantized per super-block of 256 as llama.cpp's
     * q8_K (iscale = 127 / max|x|, q = nearest_int(iscale · x), scale 1 / iscale); for each sub-block of 32, T = Σ q·xq
     * and Σ xq; lane k of each lane group sums I = Σ sc·T and M = Σ m·Σxq over sub-blocks 2k and 2k + 1 (one
     * super-block; exact), then adds I·(d·xd) and −M·(dmin·xd), each a fused multiply-add (llama.cpp's order of
     * q4_K · q8_K); the 16 lanes summed pairwise.
     */
    static float integerDotQ4K(byte[] row, float[] x, int xOff, int cols) {
        return kQuantDot(row, x, xOff, cols, 144, 16, -1);
    }

    /** {@link #integerDotQ4K} for super-blocks of {@code bytes} with nibbles at {@code qs} and fifth bits at {@code qh} (or none). */
    private static float kQuantDot(byte[] row, float[] x, int xOff, int cols, int bytes, int qs, int qh) {
        int blocks = cols / 32;
        int padded = (blocks + 31) / 32 * 32;
        float[] lanes = new float[16];
        MemorySegment w = MemorySegment.ofArray(row);
        float iscale = 0f, xd = 0f;
        int sumI = 0, sumM = 0;
        for (int b = 0; b < padded; b++) {
            float d = 0f, dmin = 0f;
            if (b < blocks) {
                int o = bytes * (b / 8), sb = b % 8;
                if (sb == 0) {
                    float amax = 0f;
                    for (int i = 0; i < 256; i++) amax = Math.max(amax, Math.abs(x[xOff + 32 * b + i]));
                    iscale = amax != 0f ? 127f / amax : 0f;
                    xd = amax != 0f ? 1f / iscale : 0f;
                }
                int t = 0, sum = 0;
                for (int i = 0; i < 32; i++) {
                    int xq = (int) Math.rint(x[xOff + 32 * b + i] * iscale);
                    int q = row[o + qs + 32 * (sb / 2) + i] & 0xff;
                    int v = (sb % 2 == 0 ? q & 15 : q >>> 4) + (qh < 0 ? 0 : ((row[o + qh + i] >>> sb) & 1) << 4);
                    t += v * xq;
                    sum += xq;
                }
                sumI += KQuantScales.scale(w, o + 4, sb) * t;
                sumM += KQuantScales.min(w, o + 4, sb) * sum;
                d = Float.float16ToFloat((short) ((row[o] & 0xff) | (row[o + 1] << 8)));
                dmin = Float.float16ToFloat((short) ((row[o + 2] & 0xff) | (row[o + 3] << 8)));
            }
            if (b % 2 == 1) {
                int k = (b % 32) / 2;
                float scale = b < blocks ? xd : 0f;
                lanes[k] = Math.fma((float) sumI, d * scale, lanes[k]);
                lanes[k] = Math.fma((float) -sumM, dmin * scale, lanes[k]);
                sumI = 0;
                sumM = 0;
            }
        }
        for (int h = 8; h > 0; h >>= 1) {
            for (int i = 0; i < h; i++) lanes[i] += lanes[i + h];
        }
        return lanes[0];
    }

    /**
     * The integer product of the repacked Q4_0 format, independently: x quantized per block of 32 to 8 bits (scale
     * amax / 127, values rounded half away from zero), each block's exact integer dot with the weights' q − 8, then per
     * lane group of 32 blocks: float lane k adds block 2k's sum times (weight scale · activation scale), then block
     * 2k + 1's, each a fused multiply-add; the 16 lanes summed pairwise at the end.
     */
    static float integerDot(byte[] row, float[] x, int xOff, int cols) {
        int blocks = cols / 32;
        // the last lane group is padded with zero blocks: sum 0, scale 0 · 0
        int padded = (blocks + 31) / 32 * 32;
        float[] lanes = new float[16];
        for (int b = 0; b < padded; b++) {
            int sum = 0;
            float scale = 0f;
            if (b < blocks) {
                float amax = 0f;
                for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[xOff + 32 * b + i]));
                float xd = amax / 127f;
                float inv = xd != 0f ? 1f / xd : 0f;
                for (int i = 0; i < 32; i++) {
                    float t = x[xOff + 32 * b + i] * inv;
                    int xq = (int) (t + Math.copySign(0.5f, t));
                    int q = row[18 * b + 2 + i % 16] & 0xff;
                    sum += ((i < 16 ? q & 15 : q >>> 4) - 8) * xq;
                }
                scale = Float.float16ToFloat((short) ((row[18 * b] & 0xff) | (row[18 * b + 1] << 8))) * xd;
            }
            int k = (b % 32) / 2;
            lanes[k] = Math.fma((float) sum, scale, lanes[k]);
        }
        for (int h = 8; h > 0; h >>= 1) {
            for (int i = 0; i < h; i++) lanes[i] += lanes[i + h];
        }
        return lanes[0];
    }

    private static void check(GgmlType type, int rows, boolean repack, int kBlock) {
        check(type, rows, repack, kBlock, type.blockSize == 1 ? 16 * 13 + 5 : (type.blockSize == 32 ? 32 * 7 : 256 * 2), false);
    }

    private static void check(GgmlType type, int rows, boolean repack, int kBlock, int cols, boolean integer) {
        SplittableRandom rnd = new SplittableRandom(7);
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(2)) {
            MatMul matmul = new MatMul(pool, kBlock);
            {
                QuantFormat f = QuantFormats.of(type);
                // (default widths) float types: an odd number of chunks plus a scalar tail; block types: whole blocks only
                float[] dense = new float[rows * cols];
                for (int i = 0; i < dense.length; i++) dense[i] = (float) (rnd.nextGaussian() * 0.05);
                int rowBytes = (int) type.bytesFor(cols);
                byte[] bytes = new byte[rows * rowBytes];
                if (f.canQuantize()) {
                    for (int r = 0; r < rows; r++) f.quantize(dense, r * cols, cols, bytes, r * rowBytes);
                } else if (type == GgmlType.BF16) {
                    for (int i = 0; i < rows * cols; i++) {
                        int bits = Float.floatToRawIntBits(dense[i]);
                        bytes[2 * i] = (byte) (bits >>> 16);
                        bytes[2 * i + 1] = (byte) (bits >>> 24);
                    }
                } else {
                    // random blocks with small finite f16 scales (and mins)
                    rnd.nextBytes(bytes);
                    int[] halves = type == GgmlType.Q5_0 ? new int[]{0} : type == GgmlType.Q3_K ? new int[]{108} : new int[]{0, 2};
                    for (int o = 0; o < bytes.length; o += type.blockBytes) {
                        for (int h : halves) {
                            short v = Float.floatToFloat16((float) (rnd.nextDouble() * 0.02 - 0.01));
                            bytes[o + h] = (byte) v;
                            bytes[o + h + 1] = (byte) (v >> 8);
                        }
                    }
                }
                MemorySegment seg = arena.allocate(bytes.length, 64);
                MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, 0, bytes.length);
                Tensor w = new Tensor("w", type, rows, cols, seg, f);
                if (repack) {
                    w = !integer ? (type == GgmlType.IQ4_XS ? io.stride.core.tensor.repack.IQ4XSBlocksFormat.repack(w, arena)
                            : QuantFormats.interleaved(w, arena)) : type == GgmlType.Q4_K ? Q4KLanesFormat.repack(w, arena)
                            : type == GgmlType.Q5_K ? Q5KLanesFormat.repack(w, arena)
                            : type == GgmlType.Q6_K ? Q6KFieldsFormat.repack(w, arena)
                            : type == GgmlType.Q3_K ? Q6KLanesFormat.repackQ3K(w, arena) : Q4_0LanesFormat.repack(w, arena);
                    assertThat(w.format()).as("repacked format").isNotSameAs(f);
                }
                QuantFormat wf = w.format();

                int maxBatch = 70;
                float[] x = new float[maxBatch * cols];
                for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                // the reference: each row decoded to floats, then the canonical dot
                float[] decoded = new float[cols];
                float[] tmp = new float[4 * VectorMath.LANES];
                float[] expected = new float[maxBatch * rows];
                assertThat(wf instanceof LanesFormat).as("integer format").isEqualTo(integer);
                for (int r = 0; r < rows; r++) {
                    f.dequantize(seg, (long) r * rowBytes, decoded, 0, cols);
                    byte[] row = java.util.Arrays.copyOfRange(bytes, r * rowBytes, (r + 1) * rowBytes);
                    for (int b = 0; b < maxBatch; b++) {
                        expected[b * rows + r] = integer ? switch (type) {
                            case Q4_K -> integerDotQ4K(row, x, b * cols, cols);
                            case Q5_K -> integerDotQ5K(row, x, b * cols, cols);
                            case Q6_K -> integerDotQ6K(row, x, b * cols, cols);
                            case Q3_K -> integerDotQ6K(q3AsQ6(row), x, b * cols, cols);
                            default -> integerDot(row, x, b * cols, cols);
                        } : VectorMath.dot(decoded, 0, x, b * cols, cols, tmp, 0);
                    }
                }
                // the fused multi-token dots directly, for any number of tokens (MatMul uses them for a few only)
                float[] scratchRow = new float[cols + 4 * VectorMath.LANES];
                for (int count = 1; count <= 9; count++) {
                    float[] got = new float[count * rows];
                    for (int r = 0; r < rows; r++) {
                        wf.dotTokens(w.data(), (long) r * rowBytes, x, 0, cols, count, cols, got, r, rows, scratchRow);
                    }
                    for (int i = 0; i < got.length; i++) {
                        assertThat(Float.floatToRawIntBits(got[i])).as("%s dotTokens count %d, token %d row %d", type, count, i / rows, i % rows)
                                .isEqualTo(Float.floatToRawIntBits(expected[i]));
                    }
                }
                // every row decodes to the same values through the tensor's own format
                float[] again = new float[cols];
                for (int r = 0; r < rows; r++) {
                    f.dequantize(seg, (long) r * rowBytes, decoded, 0, cols);
                    w.dequantizeRow(r, again, 0);
                    assertThat(again).as("%s row %d decoded", type, r).containsExactly(decoded);
                }
                for (int batch : new int[]{1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 23, 64, 70}) {
                    float[] out = new float[batch * rows];
                    matmul.multiply(w, x, batch, out);
                    for (int i = 0; i < out.length; i++) {
                        assertThat(Float.floatToRawIntBits(out[i]))
                                .as("%s batch %d token %d row %d: %s vs %s", type, batch, i / rows, i % rows, out[i], expected[i])
                                .isEqualTo(Float.floatToRawIntBits(expected[i]));
                    }
                }
            }
        }
    }
}
