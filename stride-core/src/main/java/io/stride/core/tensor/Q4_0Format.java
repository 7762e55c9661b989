package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/** Q4_0: blocks of 32 nibbles (low nibbles first half, high nibbles second half), offset 8, one f16 scale. */
final class Q4_0Format implements QuantFormat {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    private static final boolean FAST = FloatVector.SPECIES_PREFERRED.length() >= 16;

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        if (FAST) {
            for (int b = 0; b < n / 32; b++) {
                long o = offset + 18L * b;
                FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(src.get(Bytes.LE_SHORT, o)));
                ByteVector q = ByteVector.fromMemorySegment(B, src, o + 2, ByteOrder.LITTLE_ENDIAN);
                int y = dstOff + 32 * b;
                ((FloatVector) q.and((byte) 0x0f).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(dst, y);
                ((FloatVector) KQuantDot.shr4(q).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(dst, y + 16);
            }
            return;
        }
        for (int b = 0; b < n / 32; b++) {
            long o = offset + 18L * b;
            float d = Bytes.f16(src, o);
            int y = dstOff + 32 * b;
            for (int j = 0; j < 16; j++) {
                int q = Bytes.u8(src, o + 2 + j);
                dst[y + j] = ((q & 0x0f) - 8) * d;
                dst[y + j + 16] = ((q >>> 4) - 8) * d;
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
            long o = offset + 18L * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(w.get(Bytes.LE_SHORT, o)));
            ByteVector q = ByteVector.fromMemorySegment(B, w, o + 2, ByteOrder.LITTLE_ENDIAN);
            int xi = xOff + 32 * b;
            FloatVector lo = ((FloatVector) q.and((byte) 0x0f).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0)).mul(d);
            acc = lo.fma(FloatVector.fromArray(F, x, xi), acc);
            FloatVector hi = ((FloatVector) KQuantDot.shr4(q).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0)).mul(d);
            acc = hi.fma(FloatVector.fromArray(F, x, xi + 16), acc);
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
            int o = dstOff + 18 * b;
            float amax = 0, max = 0;
            for (int j = 0; j < 32; j++) {
                float v = src[x + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            QuantMath.putHalf(dst, o, d);
            for (int j = 0; j < 16; j++) {
                float x0 = src[x + j] * id;
                float x1 = src[x + 16 + j] * id;
                int xi0 = Math.min(15, (byte) (int) (x0 + 8.5f));
                int xi1 = Math.min(15, (byte) (int) (x1 + 8.5f));
                dst[o + 2 + j] = (byte) (xi0 | (xi1 << 4));
            }
        }
    }
}
