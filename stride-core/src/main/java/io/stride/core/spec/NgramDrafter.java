package io.stride.core.spec;

/**
 * Prompt lookup: find the most recent earlier occurrence of the context's last n tokens (n from
 * {@code maxN} down to {@code minN}) and propose what followed it. Costs no model work; strong on
 * copy-heavy text such as code edits.
 */
public final class NgramDrafter implements Drafter {
    private final int minN;
    private final int maxN;

    public NgramDrafter(int minN, int maxN) {
        if (minN < 1 || maxN < minN) {
            throw new IllegalArgumentException("need 1 <= minN <= maxN");
        }
        this.minN = minN;
        this.maxN = maxN;
    }

    @Override
    public int propose(int[] context, int length, int max, int[] out) {
        for (int n = Math.min(maxN, length - 1); n >= minN; n--) {
            int tail = length - n;
            // scan backwards for the latest earlier match of context[tail .. length)
            for (int start = tail - 1; start >= 0; start--) {
                int k = 0;
                while (k < n && context[start + k] == context[tail + k]) {
                    k++;
                }
                if (k == n) {
                    int from = start + n;
                    int count = Math.min(max, length - from);
                    System.arraycopy(context, from, out, 0, count);
                    return count;
                }
            }
        }
        return 0;
    }
}
