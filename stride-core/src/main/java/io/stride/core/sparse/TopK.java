package io.stride.core.sparse;

/**
 * The indices of the k largest of n weights, in ascending index order; ties at the k-th value go to the lower
 * indices, so the choice is a function of the weights alone. Linear on average (quickselect with a median-of-three
 * pivot); allocates nothing.
 */
public final class TopK {
    private TopK() {}

    /**
     * Writes the indices of the {@code min(k, n)} largest of {@code w[0 .. n)} into {@code out[at ..]} (ascending) and
     * returns how many; {@code tmp} holds at least n floats of scratch.
     */
    public static int select(float[] w, int n, int k, float[] tmp, int[] out, int at) {
        if (n <= k) {
            for (int t = 0; t < n; t++) {
                out[at + t] = t;
            }
            return n;
        }
        System.arraycopy(w, 0, tmp, 0, n);
        float threshold = kthLargest(tmp, n, k);
        int above = 0;
        for (int t = 0; t < n; t++) {
            if (w[t] > threshold) {
                above++;
            }
        }
        int ties = k - above;
        int m = 0;
        for (int t = 0; t < n; t++) {
            float v = w[t];
            if (v > threshold || (v == threshold && ties-- > 0)) {
                out[at + m++] = t;
            }
        }
        return m;
    }

    /** The k-th largest of a[0 .. n) (1 ≤ k ≤ n); reorders a. */
    static float kthLargest(float[] a, int n, int k) {
        int lo = 0, hi = n - 1, target = k - 1; // index of the answer in descending order
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            float pivot = median(a[lo], a[mid], a[hi]);
            int i = lo, j = hi;
            while (i <= j) {
                while (a[i] > pivot) i++;
                while (a[j] < pivot) j--;
                if (i <= j) {
                    float x = a[i];
                    a[i] = a[j];
                    a[j] = x;
                    i++;
                    j--;
                }
            }
            // a[lo .. j] >= pivot, a[i .. hi] <= pivot, anything between equals it
            if (target <= j) {
                hi = j;
            } else if (target >= i) {
                lo = i;
            } else {
                return pivot;
            }
        }
        return a[target];
    }

    private static float median(float a, float b, float c) {
        return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    }
}
