package io.stride.core.model;

import java.io.IOException;

/** Lets tests in other packages reuse the reference loading and distance helpers. */
public final class ReferenceLogitsTestAccess {
    private ReferenceLogitsTestAccess() {}

    public static int[] tokens(String name) throws IOException {
        return ReferenceLogitsTest.load(name).tokens();
    }

    public static double meanKl(float[] ref, float[] ours, int vocab) {
        return ReferenceLogitsTest.meanKl(ref, ours, vocab);
    }
}
