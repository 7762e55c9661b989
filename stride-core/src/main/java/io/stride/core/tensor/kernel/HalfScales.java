package io.stride.core.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The K-quant scale sections' f16 → f32 step, exact and without subnormal floats. K-quant d (and dmin) are often f16
 * subnormals (Q6_K's d = max scale / 128 is below 2^-14 for weights of a few hundredths), and a float multiply with a
 * subnormal operand takes a microcoded assist many times slower than the kernel around it; the step therefore builds
 * every value from integers and ends with one subtraction of normal floats. A section is loaded 16 halves at a time
 * but holds only 4 (Q6_K: d) or 8 (Q4_K, Q5_K: d, dmin) halves; the masks keep those lanes and give 0 elsewhere.
 */
final class HalfScales {
    private HalfScales() {}

    /** 0x7fff in lanes 0..3 (Q6_K's four d), 0 elsewhere */
    static final IntVector MAGNITUDE_4 = IntVector.fromArray(IntVector.SPECIES_512,
            new int[] {0x7fff, 0x7fff, 0x7fff, 0x7fff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0);
    /** 0x7fff in lanes 0..7 (Q4_K's and Q5_K's four d and four dmin), 0 elsewhere */
    static final IntVector MAGNITUDE_8 = IntVector.fromArray(IntVector.SPECIES_512,
            new int[] {0x7fff, 0x7fff, 0x7fff, 0x7fff, 0x7fff, 0x7fff, 0x7fff, 0x7fff, 0, 0, 0, 0, 0, 0, 0, 0}, 0);

    static final IntVector ONE = IntVector.broadcast(IntVector.SPECIES_512, 1);

    /**
     * The floats of the halves in {@code h}'s low 16 bits (no infinities or NaNs), lanes outside {@code magnitude} 0:
     * a normal half's exponent is rebiased by adding 112 to it; a subnormal m·2^-24 is built as 2^-14·(1 + m/1024) and
     * 2^-14 subtracted (exact), so no operation sees a subnormal. The kernels write these operations out where they
     * use them (a vector passed to a call that is not inlined is boxed); this method is their reference for the tests.
     */
    static FloatVector toFloats(IntVector h, IntVector magnitude) {
        IntVector m = h.and(magnitude);
        IntVector sub = ONE.sub(m.lanewise(VectorOperators.LSHR, 10).min(1)); // 1: subnormal or 0
        FloatVector v = m.lanewise(VectorOperators.LSHL, 13).add(112 << 23).add(sub.lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats()
                .sub(sub.neg().and(113 << 23).reinterpretAsFloats());
        return v.reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }
}
