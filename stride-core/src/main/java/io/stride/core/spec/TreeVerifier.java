package io.stride.core.spec;

import io.stride.core.grammar.GrammarMatcher;
import io.stride.core.sampling.Sampler;

import java.util.Arrays;

/**
 * Decides which drafted tokens to keep, given the target model's logits for the root (the last committed
 * token) and every tree node, then adds one token of the target's own (the bonus).
 * <ul>
 * <li>Greedy: follow the child whose token equals the target's choice while there is one.</li>
 * <li>Sampling, a child with a draft distribution q (draft model chain): accept x with probability
 *     min(1, p(x)/q(x)), else draw from the residual max(0, p - q) (Leviathan et al., Chen et al.).</li>
 * <li>Sampling, deterministic candidates (several children possible): try them in order, accepting x with
 *     probability p(x) / (mass left), else remove x from p; when all are rejected, draw from what is left.</li>
 * </ul>
 * Either way every committed token is distributed exactly as the target's sampler would draw it.
 * Reused across steps; not thread-safe.
 */
public final class TreeVerifier {
    private final int vocab;
    private final float[] p;
    private int[] history = new int[64];
    private int[] tokens = new int[17];
    private int[] rows = new int[17];
    private int[] nodes = new int[17];
    private int count;

    public TreeVerifier(int vocab) {
        this.vocab = vocab;
        this.p = new float[vocab];
    }

    /**
     * Walks the tree. Row 0 of {@code logits} (from {@code off}) holds the root's logits, row {@code 1 + i} node
     * i's. {@code context[0 .. length)} is the committed context (for repetition penalties).
     * Returns the number of tokens chosen: accepted drafts then the bonus token.
     */
    public int verify(DraftTree tree, float[] logits, int off, Sampler sampler, int[] context, int length) {
        return verify(tree, logits, off, sampler, context, length, null, null, null);
    }

    /**
     * As above for a grammar-constrained sequence: every choice is made among the tokens the grammar allows at its
     * node ({@code root} at the root, {@code states[i]} after node i's token; {@code mask} a vocabulary-sized buffer),
     * as the sampler would choose without drafts. {@code root} null: unconstrained.
     */
    public int verify(DraftTree tree, float[] logits, int off, Sampler sampler, int[] context, int length,
                      GrammarMatcher root, GrammarMatcher[] states, long[] mask) {
        if (history.length < length + tree.maxDepth() + 1) {
            history = Arrays.copyOf(context, Math.max(length + tree.maxDepth() + 1, history.length * 2));
        } else {
            System.arraycopy(context, 0, history, 0, length);
        }
        int need = tree.maxDepth() + 1;
        if (tokens.length < need) {
            tokens = new int[need];
            rows = new int[need];
            nodes = new int[need];
        }
        boolean greedy = sampler.params().greedy();
        int len = length;
        int node = DraftTree.ROOT;
        count = 0;
        while (true) {
            int row = node + 1;
            int rowOff = off + row * vocab;
            int next;
            int child;
            long[] allowed = null;
            if (root != null) {
                (node == DraftTree.ROOT ? root : states[node]).fillMask(mask);
                allowed = mask;
            }
            if (greedy) {
                next = sampler.sample(logits, rowOff, history, len, allowed);
                child = tree.child(node, next);
            } else {
                sampler.distribution(logits, rowOff, history, len, p, allowed);
                child = acceptOrResample(tree, node, sampler);
                next = child >= 0 ? tree.token(child) : residualDraw(sampler);
            }
            tokens[count] = next;
            rows[count] = row;
            nodes[count] = child;
            count++;
            history[len++] = next;
            if (child < 0) {
                return count;
            }
            node = child;
        }
    }

    /** The accepted child of {@code node}, or -1 with {@link #p} left as the residual distribution (unnormalised). */
    private int acceptOrResample(DraftTree tree, int node, Sampler sampler) {
        double mass = 1.0;
        for (int c = node + 1; c < tree.size(); c++) {
            if (tree.parent(c) != node) {
                continue;
            }
            int x = tree.token(c);
            float[] q = tree.draftProbabilitiesOrNull(c);
            if (q != null && mass == 1.0) {
                // a sampled draft: Leviathan/Chen rule against its distribution q
                double px = p[x], qx = q[x];
                if (qx > 0 && sampler.nextUniform() * qx < px) {
                    return c;
                }
                double left = 0;
                for (int t = 0; t < vocab; t++) {
                    float r = p[t] - q[t];
                    p[t] = r > 0 ? r : 0f;
                    left += p[t];
                }
                if (left <= 0) {
                    return -1; // p == q: cannot happen after a rejection except by rounding
                }
                mass = left;
                continue;
            }
            // a deterministic candidate: accept with its share of the mass left
            double px = p[x];
            if (px > 0 && sampler.nextUniform() * mass < px) {
                return c;
            }
            mass -= px;
            p[x] = 0f;
            if (mass <= 0) {
                mass = 0;
                for (int t = 0; t < vocab; t++) {
                    mass += p[t];
                }
            }
        }
        return -1;
    }

    private int residualDraw(Sampler sampler) {
        double total = 0;
        for (int t = 0; t < vocab; t++) {
            total += p[t];
        }
        return sampler.drawFrom(p, total);
    }

    /** Token j of the last verification (accepted drafts first, the bonus last). */
    public int token(int j) {
        return tokens[j];
    }

    /** Logits row (0 = root) that token j was chosen from. */
    public int row(int j) {
        return rows[j];
    }

    /** Tree node of token j, -1 for the bonus token. */
    public int node(int j) {
        return nodes[j];
    }

    public int count() {
        return count;
    }
}
