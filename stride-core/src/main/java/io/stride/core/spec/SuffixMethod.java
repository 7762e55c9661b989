package io.stride.core.spec;

import io.stride.core.sampling.SamplingParams;

import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * SuffixMethod ({@code suffix}): model-free drafting from suffix trees. Each request gets a tree over its own
 * prompt and output ({@link SuffixTreeDrafter}); a global tree holds the outputs of recent requests, bounded to
 * {@code maxGlobalNodes} nodes by evicting the oldest requests first. Before each step the longest suffix of
 * the context that occurs with a continuation is matched in both trees, and a draft tree of up to
 * {@code alpha × match length} tokens is grown best-first by continuation frequency; the tree with the higher
 * expected acceptance is proposed.
 */
public final class SuffixMethod implements DraftMethod {
    /** Depth of both trees: longest matched suffix plus draft. */
    public static final int DEPTH = 40;
    /** Longest suffix matched, leaving room for a 16-token draft below it. */
    public static final int MAX_MATCH = DEPTH - 16;

    private final SuffixTrie global;
    private final int maxGlobalNodes;
    private final double alpha;
    private final float minProbability;
    private final ArrayDeque<int[]> recent = new ArrayDeque<>();

    public SuffixMethod() {
        this(500_000, 1.0, 0.1f);
    }

    public SuffixMethod(int maxGlobalNodes, double alpha, float minProbability) {
        if (maxGlobalNodes < DEPTH + 1) {
            throw new IllegalArgumentException("the global suffix tree needs room for at least " + (DEPTH + 1) + " nodes");
        }
        if (alpha <= 0) {
            throw new IllegalArgumentException("alpha must be positive");
        }
        this.maxGlobalNodes = maxGlobalNodes;
        this.alpha = alpha;
        this.minProbability = minProbability;
        this.global = new SuffixTrie(DEPTH, maxGlobalNodes);
    }

    @Override
    public String name() {
        return "suffix";
    }

    @Override
    public boolean scoresDrafts() {
        return true;
    }

    @Override
    public Drafter open(int[] prompt, SamplingParams sampling) {
        return new SuffixTreeDrafter(this);
    }

    SuffixTrie global() {
        return global;
    }

    double alpha() {
        return alpha;
    }

    float minProbability() {
        return minProbability;
    }

    /** Requests whose outputs are in the global tree. */
    public int globalRequests() {
        return recent.size();
    }

    public int globalNodes() {
        return global.nodeCount();
    }

    public long globalMemoryBytes() {
        return global.memoryBytes();
    }

    /** Adds a finished request's output to the global tree, evicting the oldest outputs to stay within the cap. */
    void remember(int[] output) {
        if (output.length == 0) {
            return;
        }
        int room = maxGlobalNodes - 1;
        int[] keep = output;
        if (global.worstCaseNewNodes(keep.length) > room) {
            keep = Arrays.copyOfRange(output, output.length - room / DEPTH, output.length);
        }
        while (!recent.isEmpty() && global.nodeCount() + global.worstCaseNewNodes(keep.length) > maxGlobalNodes) {
            int[] old = recent.pollFirst();
            global.remove(old, 0, old.length);
        }
        if (keep.length == 0) {
            return;
        }
        global.insert(keep, 0, keep.length);
        recent.addLast(keep);
    }
}
