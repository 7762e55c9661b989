package io.stride.core.tensor.repack;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.format.Bytes;
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
 * Q8_0 weights with four rows interleaved per block ({@link InterleavedRowsFormat}): 136-byte records. The record's
 * 128 quant bytes come in two loads (rows 0–1, rows 2–3); each 16-value chunk's lanes are picked by a constant
 * permute, then sign-extended by a per-lane left shift and an arithmetic right shift.
 */
public final class Q8_0x4Format extends InterleavedRowsFormat {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    /** lane i of chunk c (0..3) of a 64-byte half: int lane 4c + i/4, its byte i % 4 moved to the top */
    private static final VectorShuffle<Integer> CHUNK0 = chunkLanes(0), CHUNK1 = chunkLanes(1), CHUNK2 = chunkLanes(2), CHUNK3 = chunkLanes(3);
    private static final IntVector TOP = tops();

    private static VectorShuffle<Integer> chunkLanes(int c) {
        int[] idx = new int[16];
        for (int i = 0; i < 16; i++) idx[i] = 4 * c + i / 4;
        return VectorShuffle.fromArray(I, idx, 0);
    }

    private static IntVector tops() {
        int[] s = new int[16];
        for (int i = 0; i < 16; i++) s[i] = 24 - 8 * (i % 4);
        return IntVector.fromArray(I, s, 0);
    }

    public Q8_0x4Format(int cols) {
        super(GgmlType.Q8_0, cols);
    }

    /**
     * A whole group (the usual case): its records read front to back, every row with its own even/odd accumulator
     * pair in canonical order, so each output has the bits of {@link #dot}.
     */
    @Override
    public void dotRows4(MemorySegment w, long offset, long rowBytes, float[] x, int xOff, int n, float[] out, int outOff, float[] scratch) {
        if (straddlingRows(w, offset, rowBytes, x, xOff, n, out, outOff, scratch)) return;
        FloatVector e0 = FloatVector.zero(F), o0 = FloatVector.zero(F), e1 = FloatVector.zero(F), o1 = FloatVector.zero(F);
        FloatVector e2 = FloatVector.zero(F), o2 = FloatVector.zero(F), e3 = FloatVector.zero(F), o3 = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            long r = offset + record * b;
            int xi = xOff + 32 * b;
            FloatVector xe = FloatVector.fromArray(F, x, xi);
            FloatVector xo = FloatVector.fromArray(F, x, xi + 16);
            long d = w.get(Bytes.LE_LONG, r);
            FloatVector d0 = FloatVector.broadcast(F, Float.float16ToFloat((short) d));
            FloatVector d1 = FloatVector.broadcast(F, Float.float16ToFloat((short) (d >>> 16)));
            FloatVector d2 = FloatVector.broadcast(F, Float.float16ToFloat((short) (d >>> 32)));
            FloatVector d3 = FloatVector.broadcast(F, Float.float16ToFloat((short) (d >>> 48)));
            // each 16-value chunk sign-extended and converted by one 16-byte load (as the file layout's kernel does)
            e0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, r + 8, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0)).mul(d0).fma(xe, e0);
            o0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, r + 24, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0)).mul(d0).fma(xo, o0);
            e1 = ((FloatVector) ByteVector.fromMemorySegment(B, w, r + 40, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0)).mul(d1).fma(xe, e1);
            o1 = ((FloatVector) ByteVector.fromMemorySegment(B, w, r + 56, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0)).mul(d1).fma(xo, o1);
            e2 = ((FloatVector) ByteVector.fromMemorySegment(B, w, r + 72, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0)).mul(d2).fma(xe, e2);
            o2 = ((FloatVector) ByteVector.fromMemorySegment(B, w, r + 88, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0)).mul(d2).fma(xo, o2);
            e3 = ((FloatVector) ByteVector.fromMemorySegment(B, w, r + 104, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0)).mul(d3).fma(xe, e3);
            o3 = ((FloatVector) ByteVector.fromMemorySegment(B, w, r + 120, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0)).mul(d3).fma(xo, o3);
        }
        // the four lane sums through memory (a reduction call per row would box the accumulators)
        e0.add(o0).intoArray(scratch, 0);
        e1.add(o1).intoArray(scratch, 16);
        e2.add(o2).intoArray(scratch, 32);
        e3.add(o3).intoArray(scratch, 48);
        VectorMath.laneSums4(scratch, 0, out, outOff);
    }
}
