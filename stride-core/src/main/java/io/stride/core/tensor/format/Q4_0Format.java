package io.stride.core.tensor.format;

import io.stride.core.gguf.GgmlType;

/** Q4_0: blocks of 32 nibbles (low nibbles first half, high nibbles second half), offset 8, one f16 scale. */
public final class Q4_0Format extends NibbleLevelsFormat {
    /** nibble value n stands for n - 8 */
    private static final float[] LEVELS = {-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7};

    public Q4_0Format() {
        super(GgmlType.Q4_0, LEVELS);
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
