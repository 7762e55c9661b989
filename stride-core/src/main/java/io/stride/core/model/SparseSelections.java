package io.stride.core.model;

import io.stride.core.sparse.SparseAttention;
import io.stride.core.sparse.TopK;

import java.util.Arrays;

/**
 * What sparse attention ({@link SparseAttention}) needs of {@link PagedAttention} during one forward pass: each token's
 * role in the current layer and the positions its selection layer chose, kept from that layer to the later ones of the
 * same pass. One choice per token, shared by every head of the later layers (a head of one layer has no counterpart
 * in another, a position does): the positions with the largest attention probability summed over all query heads.
 * Work items (one KV head, up to four query heads) of a selecting token each leave their heads' sum in a row; the
 * rows are added in item order and the choice made after the layer's attention ({@link #finish}), so the result does
 * not depend on which worker ran which item. Positions are indices into the token's list of visible slots
 * ({@link VisibleSlots}), in ascending order, so a sparse layer reads its keys in position order as a dense one does.
 * Grows to the largest batch seen, then allocates nothing.
 */
final class SparseSelections {
    static final byte DENSE = 0, SELECT = 1, SPARSE = 2, SHADOW = 3;

    private byte[] role = new byte[0];
    private int[] budget = new int[0], sink = new int[0], window = new int[0], lens = new int[0];
    /** chosen positions of token i from i·maxBudget */
    private int[] chosen = new int[0];
    /** the items' summed probabilities of selecting token i from rowBase[i], item after item */
    private float[] rows = new float[0];
    private long[] rowBase = new long[0];
    private int maxBudget, perToken, longest;
    private boolean selecting, shadowing;
    /** the choice's scratch (one thread) */
    private float[] summed = new float[0], scratch = new float[0];
    /** per worker: the scores of a selecting item (rows of equal length), and a sparse item's slot list */
    private final float[][] scores;
    private final int[][] lists;

    SparseSelections(int workers) {
        scores = new float[workers][0];
        lists = new int[workers][0];
    }

    /**
     * Sets each token's role in {@code layer}: dense unless the token is sparse and sees more positions than its
     * budget. The layout of the chosen positions is the same in every layer of a pass (it depends on the batch only).
     */
    void plan(int layer, Batch batch, int[] lens, int perToken) {
        int n = batch.size();
        if (role.length < n) {
            role = new byte[Math.max(n, 2 * role.length)];
            budget = new int[role.length];
            sink = new int[role.length];
            window = new int[role.length];
            this.lens = new int[role.length];
            rowBase = new long[role.length + 1];
        }
        this.perToken = perToken;
        maxBudget = 0;
        longest = 0;
        selecting = false;
        shadowing = false;
        long rowFloats = 0;
        for (int i = 0; i < n; i++) {
            rowBase[i] = rowFloats;
            SparseAttention sa = batch.sparse(i);
            if (sa == null || lens[i] <= sa.budget()) {
                role[i] = DENSE;
                continue;
            }
            if (sa.shadow() != null) {
                // ShadowKV: sparse once the prompt (positions before the first sparse one) has chunks to leave out
                int from = batch.sequence(i).sparseFrom();
                role[i] = from >= 0 && sa.shadow().applies(from, sa.budget()) ? SHADOW : DENSE;
                shadowing |= role[i] == SHADOW;
                continue;
            }
            // the layout counts every sparse token, whatever its role here, so it is the same in every layer
            budget[i] = sa.budget();
            sink[i] = sa.sink();
            window[i] = sa.window();
            this.lens[i] = lens[i];
            maxBudget = Math.max(maxBudget, sa.budget());
            role[i] = switch (sa.role(layer)) {
                case DENSE -> DENSE;
                case SELECT -> SELECT;
                case SPARSE -> SPARSE;
            };
            if (role[i] == SELECT) {
                selecting = true;
                longest = Math.max(longest, lens[i]);
                rowFloats += (long) perToken * lens[i];
            }
        }
        rowBase[n] = rowFloats;
        long need = (long) n * maxBudget;
        if (need > Integer.MAX_VALUE - 16 || rowFloats > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("sparse attention selections too large for one batch");
        }
        if (chosen.length < need) {
            chosen = new int[(int) Math.max(need, Math.min(Integer.MAX_VALUE - 16, 2L * chosen.length))];
        }
        if (rows.length < rowFloats) {
            rows = new float[(int) Math.max(rowFloats, Math.min(Integer.MAX_VALUE - 16, 2L * rows.length))];
        }
        if (summed.length < longest) {
            summed = new float[Math.max(longest, 2 * summed.length)];
            scratch = new float[summed.length];
        }
    }

    /** Makes each worker's score rows ({@code heads} of them) hold {@code rowLength} positions and its slot list the largest budget. */
    void grow(int rowLength, int heads) {
        for (int wk = 0; wk < scores.length; wk++) {
            if (scores[wk].length < heads * rowLength) {
                scores[wk] = new float[heads * Math.max(rowLength, scores[wk].length / heads * 2)];
            }
            if (lists[wk].length < maxBudget) {
                lists[wk] = new int[Math.max(maxBudget, 2 * lists[wk].length)];
            }
        }
    }

    /** Worker wk's score rows for a selecting item. */
    float[] scores(int wk) {
        return scores[wk];
    }

    /** Whether a token of the planned layer attends with ShadowKV. */
    boolean shadowing() {
        return shadowing;
    }

    byte role(int i) {
        return role[i];
    }

    /** Positions token i attends to in this layer when it sees {@code len}. */
    int attended(int i, int len) {
        return role[i] == SPARSE ? budget[i] : len;
    }

    /**
     * Row {@code it} of selecting token i: the sum over {@code hs} heads of the probabilities {@code p[po + h·stride + t]},
     * t &lt; len.
     */
    void keep(int i, int it, float[] p, int po, int stride, int hs, int len) {
        int o = (int) (rowBase[i] + (long) it * len);
        System.arraycopy(p, po, rows, o, len);
        for (int h = 1; h < hs; h++) {
            int ph = po + h * stride;
            for (int t = 0; t < len; t++) {
                rows[o + t] += p[ph + t];
            }
        }
    }

    /**
     * After the layer's attention: each selecting token's choice, its sink and window positions and then those of the
     * largest probability summed over its items in order, {@code budget} in all.
     */
    void finish(int n) {
        if (!selecting) {
            return;
        }
        for (int i = 0; i < n; i++) {
            if (role[i] != SELECT) {
                continue;
            }
            int len = lens[i];
            int o = (int) rowBase[i];
            System.arraycopy(rows, o, summed, 0, len);
            for (int it = 1; it < perToken; it++) {
                int r = o + it * len;
                for (int t = 0; t < len; t++) {
                    summed[t] += rows[r + t];
                }
            }
            // kept positions outrank every probability
            Arrays.fill(summed, 0, sink[i], Float.POSITIVE_INFINITY);
            Arrays.fill(summed, len - window[i], len, Float.POSITIVE_INFINITY);
            TopK.select(summed, len, budget[i], scratch, chosen, i * maxBudget);
        }
    }

    /** The slots of the positions token i chose ({@code visible}: its visible slots), in worker wk's list. */
    int[] slots(int i, int[] visible, int wk) {
        int[] dst = lists[wk];
        int base = i * maxBudget;
        for (int j = 0; j < budget[i]; j++) {
            dst[j] = visible[chosen[base + j]];
        }
        return dst;
    }
}
