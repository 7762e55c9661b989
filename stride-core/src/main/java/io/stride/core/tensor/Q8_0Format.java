package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/** Q8_0: blocks of 32 int8 with one f16 scale. */
final class Q8_0Format implements QuantFormat {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    private static final boolean FAST = FloatVector.SPECIES_PREFERRED.length() >= 16;

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        if (FAST) {
            for (int b = 0; b < n / 32; b++) {
                long o = offset + 34L * b;
                FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(src.get(Bytes.LE_SHORT, o)));
                int y = dstOff + 32 * b;
                ((FloatVector) ByteVector.fromMemorySegment(B, src, o + 2, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(dst, y);
                ((FloatVector) ByteVector.fromMemorySegment(B, src, o + 18, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(dst, y + 16);
            }
            return;
        }
        for (int b = 0; b < n / 32; b++) {
            long o = offset + 34L * b;
            float d = Bytes.f16(src, o);
            int y = dstOff + 32 * b;
            for (int j = 0; j < 32; j++) {
                dst[y + j] = Bytes.i8(src, o + 2 + j) * d;
            }
        }
    }

    /** Canonical order (see {@link VectorMath#dot(float[], int, float[], int, int, float[], int)}): each value decoded as in {@link #dequantize}. */
    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOff, int n, float[] scratch) {
        if (!FAST) {
            return QuantFormat.super.dot(w, offset, x, xOff, n, scratch);
        }
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / 32; b++) {
            long o = offset + 34L * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(w.get(Bytes.LE_SHORT, o)));
            int xi = xOff + 32 * b;
            FloatVector w0 = ((FloatVector) ByteVector.fromMemorySegment(B, w, o + 2, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d);
            acc = w0.fma(FloatVector.fromArray(F, x, xi), acc);
            FloatVector w1 = ((FloatVector) ByteVector.fromMemorySegment(B, w, o + 18, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(d);
            acc = w1.fma(FloatVector.fromArray(F, x, xi + 16), acc);
        }
        if (VectorMath.LANES == 16) {
            // sumLanes's pairwise order with shuffles instead of a round trip through memory
            acc = acc.add(acc.rearrange(VectorMath.SWAP_1));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_2));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_3));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_4));
            return acc.lane(0);
        }
        acc.intoArray(scratch, 0);
        return VectorMath.sumLanes(scratch, 0);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, byte[] dst, int dstOff) {
        for (int b = 0; b < n / 32; b++) {
            int x = srcOff + 32 * b;
            int o = dstOff + 34 * b;
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(src[x + j]));
            }
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0.0f;
            QuantMath.putHalf(dst, o, d);
            for (int j = 0; j < 32; j++) {
                dst[o + 2 + j] = (byte) (int) QuantMath.roundf(src[x + j] * id);
            }
        }
    }
}
