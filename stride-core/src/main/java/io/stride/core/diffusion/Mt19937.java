package io.stride.core.diffusion;

/**
 * The 32-bit Mersenne Twister ({@code std::mt19937}) and libstdc++'s {@code generate_canonical} for float and double,
 * so that a seeded diffusion run draws the same numbers as llama.cpp's {@code llama-diffusion-cli}.
 */
final class Mt19937 {
    private static final int N = 624, M = 397;
    private final int[] mt = new int[N];
    private int index;

    Mt19937(long seed) {
        mt[0] = (int) seed;
        for (int i = 1; i < N; i++) {
            mt[i] = 1812433253 * (mt[i - 1] ^ (mt[i - 1] >>> 30)) + i;
        }
        index = N;
    }

    /** The next 32 bits (unsigned in C++). */
    int next() {
        if (index >= N) {
            twist();
        }
        int y = mt[index++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        return y ^ (y >>> 18);
    }

    private void twist() {
        for (int i = 0; i < N; i++) {
            int y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7fffffff);
            mt[i] = mt[(i + M) % N] ^ (y >>> 1) ^ ((y & 1) != 0 ? 0x9908b0df : 0);
        }
        index = 0;
    }

    /** {@code std::uniform_real_distribution<double>(0, 1)}: two draws, low word first, in [0, 1). */
    double nextDouble() {
        double lo = next() & 0xffffffffL;
        double hi = next() & 0xffffffffL;
        double r = (lo + hi * 4294967296.0) / 18446744073709551616.0;
        return r >= 1.0 ? Math.nextDown(1.0) : r;
    }

    /** {@code std::uniform_real_distribution<float>(0, 1)}: one draw rounded to float, in [0, 1). */
    float nextFloat() {
        float r = (float) (next() & 0xffffffffL) / 4294967296.0f;
        return r >= 1f ? Math.nextDown(1f) : r;
    }
}
