package io.stride.core.tensor.format;

/** The 16 non-linear levels of ggml's IQ4 formats ({@code kvalues_iq4nl}), indexed by a 4-bit code. */
public final class IQ4Values {
    static final byte[] LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    private IQ4Values() {}

    /** The levels as floats. */
    public static float[] floats() {
        float[] f = new float[16];
        for (int i = 0; i < 16; i++) f[i] = LEVELS[i];
        return f;
    }
}
