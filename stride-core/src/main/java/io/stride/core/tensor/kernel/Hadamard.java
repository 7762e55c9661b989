package io.stride.core.tensor.kernel;

/**
 * Multiplication by the orthonormal Walsh-Hadamard matrix of Sylvester's order ({@code H_1 = [1]},
 * {@code H_2n = [[H_n, H_n], [H_n, -H_n]]}, divided by √n), the matrix llama.cpp rotates quantized KV caches with:
 * the fast transform's butterflies in a fixed order, then one scaling, so a row's result depends on the row alone.
 * H is symmetric and H·H = I, so the same call undoes a rotation.
 */
public final class Hadamard {
    private Hadamard() {}

    /** Rotates each run of {@code n} values (a power of two) of {@code x[off .. off+len)} in place. */
    public static void rotate(float[] x, int off, int len, int n) {
        float scale = (float) (1.0 / Math.sqrt(n));
        for (int b = off; b < off + len; b += n) {
            for (int h = 1; h < n; h <<= 1) {
                for (int i = b; i < b + n; i += 2 * h) {
                    for (int j = i; j < i + h; j++) {
                        float u = x[j], v = x[j + h];
                        x[j] = u + v;
                        x[j + h] = u - v;
                    }
                }
            }
            for (int j = b; j < b + n; j++) {
                x[j] *= scale;
            }
        }
    }
}
