package io.stride.core.tensor.kernel;

import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

import static io.stride.core.tensor.kernel.Q8Activations.GROUP;

/**
 * The multipliers of the weight layouts whose values lie in bit fields of 16-bit lanes (Q5_K, Q6_K): computed once per
 * token from its quantized activations ({@link Q8Activations#q}) so that the decode kernels multiply each lane's fields
 * unmasked and their sum telescopes to Σ q·x (modulo 2^16).
 */
final class FieldMultipliers {
    private static final VectorSpecies<Short> S32 = ShortVector.SPECIES_512;

    private FieldMultipliers() {}

    /**
     * The Q5_K multipliers of the lane group whose values start at {@code q[off]}, into {@code c[cOff ..]}, and its
     * {@link Q8Activations#k5} into {@code k5[kOff ..]}. A lane w of lane row 5h + m (see
     * {@link io.stride.core.tensor.repack.Q5KLanesFormat}) holds q0, q1, q2 of elements e0..e2 = 16h + 3m + 0..2 as
     * w = q0 + 32·q1 + 1024·q2; its multipliers at {@code 480·h + 96·m + 32·k} are c0 = x0 and ck = xk − 32·x(k−1), so
     * w·c0 + (w >>> 5)·c1 + (w >>> 10)·c2 = Σ qk·xk modulo 2^16; lane row 10 (elements 15 and 31) takes c0 = x15 and
     * c1 = x31 − 32·x15 at 960 and 992.
     */
    static void multipliers5(short[] q, int off, short[] c, int cOff, short[] k5, int kOff) {
        // no vector lives across a loop's back edge (the JIT may box one there): each multiplier loads both its values
        for (int h = 0; h < 2; h++) {
            for (int m = 0; m < 5; m++) {
                int e = 16 * h + 3 * m, o = cOff + 480 * h + 96 * m;
                ShortVector.fromArray(S32, q, off + GROUP * e).intoArray(c, o);
                for (int k = 1; k < 3; k++) {
                    ShortVector.fromArray(S32, q, off + GROUP * (e + k))
                            .sub(ShortVector.fromArray(S32, q, off + GROUP * (e + k - 1)).mul((short) 32)).intoArray(c, o + 32 * k);
                }
            }
        }
        ShortVector.fromArray(S32, q, off + GROUP * 15).intoArray(c, cOff + 960);
        ShortVector.fromArray(S32, q, off + GROUP * 31).sub(ShortVector.fromArray(S32, q, off + GROUP * 15).mul((short) 32))
                .intoArray(c, cOff + 992);
        for (int h = 0; h < 2; h++) {
            ShortVector sum = ShortVector.fromArray(S32, q, off + GROUP * 16 * h);
            for (int e = 1; e < 15; e++) sum = sum.add(ShortVector.fromArray(S32, q, off + GROUP * (16 * h + e)));
            sum.mul((short) 16).intoArray(k5, kOff + 32 * h);
        }
        ShortVector.fromArray(S32, q, off + GROUP * 15).add(ShortVector.fromArray(S32, q, off + GROUP * 31)).mul((short) 16)
                .intoArray(k5, kOff + 64);
    }

    /**
     * The multipliers of Q6_K in 6-bit fields ({@link K6FieldKernels}) of the lane group whose values start at
     * {@code q[off]}: for quarter k (elements 8k..8k + 7, values x0..x7) m0 = x0 and mi = xi − 64·x(i−1) at
     * {@code c[cOff + 256k + 32i ..]}, and 32·Σxi at {@code k5[kOff + 32k ..]}.
     */
    static void multipliers6f(short[] q, int off, short[] c, int cOff, short[] k5, int kOff) {
        // no vector lives across a loop's back edge (the JIT may box one there): each multiplier loads both its values
        for (int k = 0; k < 4; k++) {
            int e = 8 * k, o = cOff + 256 * k;
            ShortVector.fromArray(S32, q, off + GROUP * e).intoArray(c, o);
            for (int i = 1; i < 8; i++) {
                ShortVector.fromArray(S32, q, off + GROUP * (e + i))
                        .sub(ShortVector.fromArray(S32, q, off + GROUP * (e + i - 1)).mul((short) 64)).intoArray(c, o + 32 * i);
            }
            ShortVector.fromArray(S32, q, off + GROUP * e).add(ShortVector.fromArray(S32, q, off + GROUP * (e + 1)))
                    .add(ShortVector.fromArray(S32, q, off + GROUP * (e + 2))).add(ShortVector.fromArray(S32, q, off + GROUP * (e + 3)))
                    .add(ShortVector.fromArray(S32, q, off + GROUP * (e + 4))).add(ShortVector.fromArray(S32, q, off + GROUP * (e + 5)))
                    .add(ShortVector.fromArray(S32, q, off + GROUP * (e + 6))).add(ShortVector.fromArray(S32, q, off + GROUP * (e + 7)))
                    .mul((short) 32).intoArray(k5, kOff + 32 * k);
        }
    }
}
