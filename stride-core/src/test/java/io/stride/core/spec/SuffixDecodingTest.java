package io.stride.core.spec;

import io.stride.core.sampling.SamplingParams;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class SuffixDecodingTest {
    @Test
    void globalTreeStaysUnderItsCapAcross10kRequests() {
        int cap = 60_000;
        SuffixMethod method = new SuffixMethod(cap, 1.0, 0.1f);
        SplittableRandom r = new SplittableRandom(1);
        DraftTree tree = new DraftTree();
        long maxBytes = 0;
        for (int req = 0; req < 10_000; req++) {
            int promptLen = 20 + r.nextInt(60), outLen = 10 + r.nextInt(120);
            int[] ctx = new int[promptLen + outLen];
            // token streams with repeated phrases from a small vocabulary, as code has
            for (int i = 0; i < ctx.length; i++) {
                ctx[i] = i >= 8 && r.nextInt(3) == 0 ? ctx[i - 8] : r.nextInt(2000);
            }
            Drafter d = method.open(java.util.Arrays.copyOf(ctx, promptLen), SamplingParams.GREEDY);
            for (int len = promptLen; len <= ctx.length; len += 16) {
                tree.clear();
                d.propose(ctx, len, 8, tree, null);
            }
            d.finish(ctx, ctx.length);
            d.close();
            assertThat(method.globalNodes()).isLessThanOrEqualTo(cap);
            maxBytes = Math.max(maxBytes, method.globalMemoryBytes());
        }
        // arrays never grow past the cap: 7 ints per node plus a hash table of at most 4x the nodes
        assertThat(maxBytes).isLessThanOrEqualTo(28L * cap + 12L * 4 * Integer.highestOneBit(cap) * 2);
        assertThat(method.globalRequests()).isLessThan(10_000).isPositive();
    }

    @Test
    void draftsWhatFollowedEarlierAndLearnsAcrossRequests() {
        SuffixMethod method = new SuffixMethod();
        int[] text = {1, 2, 3, 4, 5, 6, 7, 1, 2, 3};
        Drafter d = method.open(java.util.Arrays.copyOf(text, 7), SamplingParams.GREEDY);
        DraftTree tree = new DraftTree();
        d.propose(text, 7, 8, tree, null);
        tree.clear();
        d.propose(text, text.length, 8, tree, null);
        assertThat(tree.size()).isPositive();
        assertThat(tree.token(0)).isEqualTo(4);
        d.finish(text, text.length);
        // a new request whose context ends like an earlier output draws from the global tree
        int[] other = {9, 9, 1, 2};
        Drafter d2 = method.open(other, SamplingParams.GREEDY);
        tree.clear();
        d2.propose(other, other.length, 4, tree, null);
        assertThat(tree.size()).isPositive();
        assertThat(tree.token(0)).isEqualTo(3);
    }

    @Test
    void trieRemovesWhatItInserted() {
        SuffixTrie t = new SuffixTrie(6);
        int[] a = {1, 2, 3, 1, 2, 4};
        t.insert(a, 0, a.length);
        int nodes = t.nodeCount();
        int[] b = {7, 8, 9, 7, 8};
        t.insert(b, 0, b.length);
        t.remove(b, 0, b.length);
        assertThat(t.nodeCount()).isEqualTo(nodes);
        assertThat(t.count(t.find(new int[]{1, 2}, 0, 2))).isEqualTo(2);
        t.remove(a, 0, a.length);
        assertThat(t.nodeCount()).isEqualTo(1);
    }
}
