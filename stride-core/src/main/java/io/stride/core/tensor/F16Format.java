package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * IEEE half precision. Vectorised widening: shift the half's magnitude bits into float position and rescale
 * by 2^112 (exact for normal and subnormal halves); inf/nan patterns are fixed up separately.
 */
final class F16Format implements QuantFormat {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final float MAGIC = 0x1p112f;

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    /** Lanes of {@code F} halves at byte {@code off}, widened to floats. */
    private static FloatVector load(MemorySegment src, long off) {
        ShortVector h = ShortVector.fromMemorySegment(S, src, off, ByteOrder.LITTLE_ENDIAN);
        IntVector bits = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        IntVector mag = bits.and(0x7fff);
        IntVector shifted = mag.lanewise(VectorOperators.LSHL, 13);
        FloatVector f = shifted.reinterpretAsFloats().mul(MAGIC);
        VectorMask<Integer> special = mag.compare(VectorOperators.GE, 0x7c00);
        IntVector fb = f.reinterpretAsInts().blend(shifted.or(0x7f800000), special);
        IntVector sign = bits.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        return fb.or(sign).reinterpretAsFloats();
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        // a plain loop: C2 turns Float.float16ToFloat over a segment into vector half-to-float instructions
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] = Float.float16ToFloat(src.get(Bytes.LE_SHORT, offset + 2L * i));
        }
    }

    /** Canonical order (see {@link VectorMath#dot(float[], int, float[], int, int, float[], int)}), decoding on the fly. */
    @Override
    public float dot(MemorySegment w, long offset, float[] x, int xOff, int n, float[] scratch) {
        int i = 0;
        int lanes = F.length();
        FloatVector acc = FloatVector.zero(F);
        for (; i + lanes <= n; i += lanes) {
            acc = load(w, offset + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), acc);
        }
        float t = 0;
        for (; i < n; i++) {
            t += Float.float16ToFloat(w.get(Bytes.LE_SHORT, offset + 2L * i)) * x[xOff + i];
        }
        if (VectorMath.LANES == 16) {
            // sumLanes's pairwise order with shuffles instead of a round trip through memory
            acc = acc.add(acc.rearrange(VectorMath.SWAP_1));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_2));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_3));
            acc = acc.add(acc.rearrange(VectorMath.SWAP_4));
            return acc.lane(0) + t;
        }
        acc.intoArray(scratch, 0);
        return VectorMath.sumLanes(scratch, 0) + t;
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantize(float[] src, int srcOff, int n, byte[] dst, int dstOff) {
        for (int i = 0; i < n; i++) {
            QuantMath.putHalf(dst, dstOff + 2 * i, src[srcOff + i]);
        }
    }
}
