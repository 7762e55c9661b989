package io.stride.core.spec;

import io.stride.core.model.Model;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.sampling.SamplingParams;

import java.nio.file.Path;

/**
 * {@code medusa:HEADS.gguf}: Medusa-1 heads propose a token tree from the target's last hidden state. Head k's
 * top candidates fill depth k + 1; the tree is grown best-first by the product of the heads' softmax
 * probabilities along each path (the heads are treated as independent), up to the node budget.
 */
public final class MedusaMethod implements DraftMethod {
    private static final int TOP = 4;
    private final MedusaHeads heads;
    private final int vocab;
    private final float[] logits;
    private final int[][] topTokens;
    private final float[][] topProbs;
    /** best-first candidates: head × TOP + rank, draft parent, path probability */
    private final BestFirstFrontier frontier = new BestFirstFrontier();

    public MedusaMethod(Path path, Model base, WorkerPool pool) {
        this.heads = MedusaHeads.open(path, base, pool);
        this.vocab = base.config().vocab();
        this.logits = new float[heads.heads() * vocab];
        this.topTokens = new int[heads.heads()][TOP];
        this.topProbs = new float[heads.heads()][TOP];
    }

    @Override
    public String name() {
        return "medusa";
    }

    @Override
    public boolean needsHidden() {
        return true;
    }

    public MedusaHeads heads() {
        return heads;
    }

    @Override
    public Drafter open(int[] prompt, SamplingParams sampling) {
        return (context, length, max, tree, hidden) -> propose(max, tree, hidden);
    }

    private void propose(int max, DraftTree tree, float[] hidden) {
        if (hidden == null || max <= 0) {
            return;
        }
        heads.logits(hidden, 0, logits);
        for (int k = 0; k < heads.heads(); k++) {
            top(k);
        }
        frontier.clear();
        for (int r = 0; r < TOP; r++) {
            frontier.push(r, DraftTree.ROOT, topProbs[0][r]);
        }
        while (tree.size() < max && !frontier.isEmpty()) {
            frontier.popBest();
            int d = frontier.ref() / TOP, rank = frontier.ref() % TOP;
            float prob = frontier.prob();
            if (prob < 1e-3f) {
                break;
            }
            int node = tree.add(frontier.parent(), topTokens[d][rank]);
            tree.setScore(node, prob);
            if (d + 1 < heads.heads()) {
                for (int r = 0; r < TOP; r++) {
                    frontier.push((d + 1) * TOP + r, node, prob * topProbs[d + 1][r]);
                }
            }
        }
    }

    /** Top candidates of head k with their softmax probabilities. */
    private void top(int k) {
        int off = k * vocab;
        int[] t = topTokens[k];
        float[] p = topProbs[k];
        java.util.Arrays.fill(t, -1);
        java.util.Arrays.fill(p, Float.NEGATIVE_INFINITY);
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            float l = logits[off + i];
            max = Math.max(max, l);
            if (l > p[TOP - 1]) {
                int j = TOP - 1;
                while (j > 0 && p[j - 1] < l) {
                    p[j] = p[j - 1];
                    t[j] = t[j - 1];
                    j--;
                }
                p[j] = l;
                t[j] = i;
            }
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[off + i] - max);
        }
        for (int j = 0; j < TOP; j++) {
            p[j] = (float) (Math.exp(p[j] - max) / sum);
        }
    }

    /** Top-{@code n} token ids of head k for hidden state h (for cross-checks against the training code). */
    public int[] topIds(float[] hidden, int k, int n) {
        heads.logits(hidden, 0, logits);
        Integer[] ids = new Integer[vocab];
        for (int i = 0; i < vocab; i++) ids[i] = i;
        int off = k * vocab;
        java.util.Arrays.sort(ids, (a, b) -> Float.compare(logits[off + b], logits[off + a]));
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = ids[i];
        return out;
    }

    @Override
    public void close() {
        heads.close();
    }
}
