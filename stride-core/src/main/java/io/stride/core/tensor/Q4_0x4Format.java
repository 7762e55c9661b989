package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.stream.IntStream;

/**
 * Q4_0 weights repacked at load time so that four consecutive rows stream as one: for each group of four rows and each
 * block index b, one 72-byte record {@code [4 f16 scales][16 quant bytes of row 0]..[.. of row 3]} (llama.cpp's CPU
 * "repack" does the same for its int8 kernels). Same bytes per row as the file, same values, same bits: only the order
 * changes. Decode then multiplies four rows at once from one sequential stream, with eight independent accumulator
 * chains instead of two (a single row's two chains are bound by the multiply-add latency) and each activation chunk
 * loaded once for the four rows.
 *
 * <p>Rows are still addressed as in the file, by {@code r * rowBytes}: the kernels map that offset to the row's place in
 * its group. One instance per tensor width.
 */
final class Q4_0x4Format implements QuantFormat {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final VectorSpecies<Byte> Q = ByteVector.SPECIES_512;
    private static final long RECORD = 4 * 18;
    /** lane i of row j's quants: int lane 4j + i/4 of a record's 64 quant bytes, shifted by 8 * (i % 4) (+4: high nibble) */
    private static final VectorShuffle<Integer> ROW0 = rowLanes(0), ROW1 = rowLanes(1), ROW2 = rowLanes(2), ROW3 = rowLanes(3);
    private static final IntVector LOW = shifts(0), HIGH = shifts(4);
    private final int cols;
    private final long rowBytes;

    private static VectorShuffle<Integer> rowLanes(int j) {
        int[] idx = new int[16];
        for (int i = 0; i < 16; i++) idx[i] = 4 * j + i / 4;
        return VectorShuffle.fromArray(I, idx, 0);
    }

    private static IntVector shifts(int nibble) {
        int[] s = new int[16];
        for (int i = 0; i < 16; i++) s[i] = 8 * (i % 4) + nibble;
        return IntVector.fromArray(I, s, 0);
    }

    private Q4_0x4Format(int cols) {
        this.cols = cols;
        this.rowBytes = 18L * (cols / 32);
    }

    /** Whether a Q4_0 matrix of this shape can be repacked (and whether this CPU runs the repacked kernels). */
    static boolean applies(int rows, int cols) {
        return Q4_0Format.FAST && VectorMath.LANES == 16 && rows % 4 == 0 && cols % 32 == 0 && cols > 0;
    }

    /**
     * A repacked copy of a Q4_0 matrix (allocated in {@code arena}), or the tensor itself when {@link #applies} says no.
     */
    static Tensor repack(Tensor t, Arena arena) {
        if (t.type() != GgmlType.Q4_0 || !applies(t.rows(), t.cols())) return t;
        Q4_0x4Format f = new Q4_0x4Format(t.cols());
        MemorySegment src = t.data();
        MemorySegment dst = arena.allocate(src.byteSize(), 64);
        int blocks = t.cols() / 32;
        int groupBytes = Math.toIntExact(4 * f.rowBytes);
        // a one-off pass at load time: each group's four rows (contiguous in the file) copied to the heap in bulk,
        // reordered there, and copied back in bulk; groups in parallel
        IntStream.range(0, t.rows() / 4).parallel().forEach(g -> {
            byte[] in = new byte[groupBytes], out = new byte[groupBytes];
            long base = (long) g * groupBytes;
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, base, in, 0, groupBytes);
            for (int b = 0; b < blocks; b++) {
                int rec = (int) RECORD * b;
                for (int j = 0; j < 4; j++) {
                    int o = j * groupBytes / 4 + 18 * b;
                    out[rec + 2 * j] = in[o];
                    out[rec + 2 * j + 1] = in[o + 1];
                    System.arraycopy(in, o + 2, out, rec + 8 + 16 * j, 16);
                }
            }
            MemorySegment.copy(out, 0, dst, ValueLayout.JAVA_BYTE, base, groupBytes);
        });
        return new Tensor(t.name(), t.type(), t.rows(), t.cols(), dst, f);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    private long group(long offset) {
        long row = offset / rowBytes;
        return (row - row % 4) * rowBytes;
    }

    private static int lane(long offset, long rowBytes) {
        return (int) ((offset / rowBytes) % 4);
    }

    private void check(long offset, int n) {
        if (n != cols || offset % rowBytes != 0) {
            throw new IllegalArgumentException("a repacked Q4_0 tensor is read by whole rows of " + cols + " values");
        }
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        check(offset, n);
        long g = group(offset);
        int j = lane(offset, rowBytes);
        Q4_0Format.dequantizeAt(src, g + 2 * j, g + 8 + 16 * j, RECORD, dst, dstOff, n);
    }

    @Override
    public void dequantizeEvenFirst(MemorySegment src, long offset, float[] dst, int dstOff, int n, float[] tmp, int tmpOff) {
        check(offset, n);
        long g = group(offset);
        int j = lane(offset, rowBytes);
        Q4_0Format.dequantizeEvenFirstAt(src, g + 2 * j, g + 8 + 16 * j, RECORD, dst, dstOff, n);
    }

    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOff, int n, float[] scratch) {
        check(offset, n);
        long g = group(offset);
        int j = lane(offset, rowBytes);
        return Q4_0Format.dotAt(w, g + 2 * j, g + 8 + 16 * j, RECORD, x, xOff, n);
    }

    @Override
    public void dotTokens(MemorySegment w, long offset, float[] x, int xBase, int xStride, int count, int n, float[] out, int outBase,
                          int outStride, float[] scratch) {
        check(offset, n);
        long g = group(offset);
        int j = lane(offset, rowBytes);
        Q4_0Format.dotTokensAt(w, g + 2 * j, g + 8 + 16 * j, RECORD, x, xBase, xStride, count, n, out, outBase, outStride);
    }

    @Override
    public int fusedTokens() {
        return 3;
    }

    /**
     * A whole group (the usual case): its records read front to back, every row with its own even/odd accumulator
     * pair in canonical order, so each output has the bits of {@link #dot}.
     */
    @Override
    public void dotRows4(MemorySegment w, long offset, long rowBytes, float[] x, int xOff, int n, float[] out, int outOff, float[] scratch) {
        check(offset, n);
        if (lane(offset, rowBytes) != 0) {
            QuantFormat.super.dotRows4(w, offset, rowBytes, x, xOff, n, out, outOff, scratch);
            return;
        }
        FloatVector e0 = FloatVector.zero(F), o0 = FloatVector.zero(F), e1 = FloatVector.zero(F), o1 = FloatVector.zero(F);
        FloatVector e2 = FloatVector.zero(F), o2 = FloatVector.zero(F), e3 = FloatVector.zero(F), o3 = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            long r = offset + RECORD * b;
            int xi = xOff + 32 * b;
            FloatVector xe = FloatVector.fromArray(F, x, xi);
            FloatVector xo = FloatVector.fromArray(F, x, xi + 16);
            // one load for the four f16 scales
            long d = w.get(Bytes.LE_LONG, r);
            IntVector t0 = Q4_0Format.NIBBLES.mul(Float.float16ToFloat((short) d)).reinterpretAsInts();
            IntVector t1 = Q4_0Format.NIBBLES.mul(Float.float16ToFloat((short) (d >>> 16))).reinterpretAsInts();
            IntVector t2 = Q4_0Format.NIBBLES.mul(Float.float16ToFloat((short) (d >>> 32))).reinterpretAsInts();
            IntVector t3 = Q4_0Format.NIBBLES.mul(Float.float16ToFloat((short) (d >>> 48))).reinterpretAsInts();
            // the four rows' 64 quant bytes in one load; row j's byte i is byte i % 4 of int lane 4j + i / 4
            IntVector all = ByteVector.fromMemorySegment(Q, w, r + 8, ByteOrder.LITTLE_ENDIAN).reinterpretAsInts();
            IntVector q0 = all.rearrange(ROW0);
            IntVector q1 = all.rearrange(ROW1);
            IntVector q2 = all.rearrange(ROW2);
            IntVector q3 = all.rearrange(ROW3);
            e0 = q0.lanewise(VectorOperators.LSHR, LOW).and(15).selectFrom(t0).reinterpretAsFloats().fma(xe, e0);
            o0 = q0.lanewise(VectorOperators.LSHR, HIGH).and(15).selectFrom(t0).reinterpretAsFloats().fma(xo, o0);
            e1 = q1.lanewise(VectorOperators.LSHR, LOW).and(15).selectFrom(t1).reinterpretAsFloats().fma(xe, e1);
            o1 = q1.lanewise(VectorOperators.LSHR, HIGH).and(15).selectFrom(t1).reinterpretAsFloats().fma(xo, o1);
            e2 = q2.lanewise(VectorOperators.LSHR, LOW).and(15).selectFrom(t2).reinterpretAsFloats().fma(xe, e2);
            o2 = q2.lanewise(VectorOperators.LSHR, HIGH).and(15).selectFrom(t2).reinterpretAsFloats().fma(xo, o2);
            e3 = q3.lanewise(VectorOperators.LSHR, LOW).and(15).selectFrom(t3).reinterpretAsFloats().fma(xe, e3);
            o3 = q3.lanewise(VectorOperators.LSHR, HIGH).and(15).selectFrom(t3).reinterpretAsFloats().fma(xo, o3);
        }
        // the four lane sums through memory: a reduction call per row would not be inlined into this large loop and
        // would box the accumulators
        e0.add(o0).intoArray(scratch, 0);
        e1.add(o1).intoArray(scratch, 16);
        e2.add(o2).intoArray(scratch, 32);
        e3.add(o3).intoArray(scratch, 48);
        VectorMath.laneSums4(scratch, 0, out, outOff);
    }
}
