package io.stride.core.tensor.repack;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.format.Bytes;
import io.stride.core.tensor.QuantFormats;
import io.stride.core.tensor.format.NibbleLevelsFormat;
import io.stride.core.tensor.kernel.VectorMath;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Q4_0 or IQ4_NL weights ({@link NibbleLevelsFormat}) with four rows interleaved per block ({@link InterleavedRowsFormat}):
 * 72-byte records. The record's 64 quant bytes come in one load; each row's lanes are picked by a constant permute and
 * per-lane shifts, then looked up in the format's 16 levels times each row's scale.
 */
public final class NibbleLevelsX4Format extends InterleavedRowsFormat {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final VectorSpecies<Byte> Q = ByteVector.SPECIES_512;
    /** lane i of row j's quants: int lane 4j + i/4 of a record's 64 quant bytes, shifted by 8 * (i % 4) (+4: high nibble) */
    private static final VectorShuffle<Integer> ROW0 = rowLanes(0), ROW1 = rowLanes(1), ROW2 = rowLanes(2), ROW3 = rowLanes(3);
    private static final IntVector LOW = shifts(0), HIGH = shifts(4);

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

    private final float[] levels;

    public NibbleLevelsX4Format(GgmlType type, int cols) {
        super(type, cols);
        this.levels = ((NibbleLevelsFormat) QuantFormats.of(type)).levels();
    }

    /**
     * A whole group (the usual case): its records read front to back, every row with its own even/odd accumulator
     * pair in canonical order, so each output has the bits of {@link #dot}.
     */
    @Override
    public void dotRows4(MemorySegment w, long offset, long rowBytes, float[] x, int xOff, int n, float[] out, int outOff, float[] scratch) {
        if (straddlingRows(w, offset, rowBytes, x, xOff, n, out, outOff, scratch)) return;
        FloatVector lv = FloatVector.fromArray(F, levels, 0);
        FloatVector e0 = FloatVector.zero(F), o0 = FloatVector.zero(F), e1 = FloatVector.zero(F), o1 = FloatVector.zero(F);
        FloatVector e2 = FloatVector.zero(F), o2 = FloatVector.zero(F), e3 = FloatVector.zero(F), o3 = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            long r = offset + record * b;
            int xi = xOff + 32 * b;
            FloatVector xe = FloatVector.fromArray(F, x, xi);
            FloatVector xo = FloatVector.fromArray(F, x, xi + 16);
            // one load for the four f16 scales
            long d = w.get(Bytes.LE_LONG, r);
            IntVector t0 = lv.mul(Float.float16ToFloat((short) d)).reinterpretAsInts();
            IntVector t1 = lv.mul(Float.float16ToFloat((short) (d >>> 16))).reinterpretAsInts();
            IntVector t2 = lv.mul(Float.float16ToFloat((short) (d >>> 32))).reinterpretAsInts();
            IntVector t3 = lv.mul(Float.float16ToFloat((short) (d >>> 48))).reinterpretAsInts();
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
