package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/** IEEE half precision. Vectorised widening: shift the half's bits into float position and rescale by 2^112. */
final class F16Format implements QuantFormat {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final float MAGIC = 0x1p112f;

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        int i = 0;
        int lanes = F.length();
        for (; i + lanes <= n; i += lanes) {
            ShortVector h = ShortVector.fromMemorySegment(S, src, offset + 2L * i, ByteOrder.LITTLE_ENDIAN);
            IntVector bits = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
            IntVector sign = bits.and(0x8000).lanewise(VectorOperators.LSHL, 16);
            IntVector mag = bits.and(0x7fff);
            FloatVector f = mag.lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(MAGIC);
            // halves with an all-ones exponent (inf/nan) become inf/nan
            var special = mag.compare(VectorOperators.GE, 0x7c00);
            IntVector fb = f.reinterpretAsInts();
            fb = fb.blend(mag.lanewise(VectorOperators.LSHL, 13).or(0x70000000).or(0x0f800000), special);
            fb.or(sign).reinterpretAsFloats().intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) {
            dst[dstOff + i] = Bytes.f16(src, offset + 2L * i);
        }
    }
}
