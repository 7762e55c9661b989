package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;
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
            GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K};

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
        for (GgmlType type : new GgmlType[]{GgmlType.Q4_0, GgmlType.Q8_0}) {
            check(type, 12, true, MatMul.K_BLOCK);
            check(type, 20, true, MatMul.K_BLOCK);
        }
    }

    private static void check(GgmlType type, int rows, boolean repack, int kBlock) {
        SplittableRandom rnd = new SplittableRandom(7);
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(2)) {
            MatMul matmul = new MatMul(pool, kBlock);
            {
                QuantFormat f = QuantFormats.of(type);
                // float types: an odd number of chunks plus a scalar tail; block types: whole blocks only
                int cols = type.blockSize == 1 ? 16 * 13 + 5 : (type.blockSize == 32 ? 32 * 7 : 256 * 2);
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
                    int[] halves = type == GgmlType.Q5_0 ? new int[]{0} : new int[]{0, 2};
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
                    w = QuantFormats.forCompute(w, arena);
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
                for (int r = 0; r < rows; r++) {
                    f.dequantize(seg, (long) r * rowBytes, decoded, 0, cols);
                    for (int b = 0; b < maxBatch; b++) {
                        expected[b * rows + r] = VectorMath.dot(decoded, 0, x, b * cols, cols, tmp, 0);
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
