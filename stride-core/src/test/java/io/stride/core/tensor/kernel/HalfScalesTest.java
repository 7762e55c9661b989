package io.stride.core.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The scale sections' vector f16 → f32 step against the JDK's conversion, for every finite half. */
class HalfScalesTest {
    @Test
    void everyFiniteHalfConvertsExactlyAndUnusedLanesAreZero() {
        int[] h = new int[16];
        float[] out = new float[16];
        for (int base = 0; base < 65536; base += 8) {
            for (int k = 0; k < 16; k++) h[k] = (base + k % 8) | (k >= 8 ? 0x1234_0000 : 0); // junk above the half's bits
            FloatVector v = HalfScales.toFloats(IntVector.fromArray(IntVector.SPECIES_512, h, 0), HalfScales.MAGNITUDE_8);
            v.intoArray(out, 0);
            for (int k = 0; k < 8; k++) {
                short half = (short) (base + k);
                if ((half & 0x7c00) == 0x7c00) continue; // infinities and NaNs are not scales
                assertThat(Float.floatToRawIntBits(out[k])).as("half %04x", half & 0xffff)
                        .isEqualTo(Float.floatToRawIntBits(Float.float16ToFloat(half)));
            }
            for (int k = 8; k < 16; k++) assertThat(Math.abs(out[k])).isZero();
        }
    }
}
