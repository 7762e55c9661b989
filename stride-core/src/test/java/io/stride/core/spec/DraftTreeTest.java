package io.stride.core.spec;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class DraftTreeTest {
    @Test
    void keepBestKeepsTheMostLikelySubtreeInOrder() {
        DraftTree t = new DraftTree();
        int a = t.add(DraftTree.ROOT, 10);
        t.setScore(a, 0.9f);
        int b = t.add(DraftTree.ROOT, 11);
        t.setScore(b, 0.05f);
        int a1 = t.add(a, 12);
        t.setScore(a1, 0.8f);
        int b1 = t.add(b, 13);
        t.setScore(b1, 0.04f);
        int a2 = t.add(a1, 14);
        t.setScore(a2, 0.5f);
        assertThat(t.scored()).isTrue();
        t.keepBest(3);
        assertThat(t.size()).isEqualTo(3);
        assertThat(new int[]{t.token(0), t.token(1), t.token(2)}).containsExactly(10, 12, 14);
        assertThat(new int[]{t.parent(0), t.parent(1), t.parent(2)}).containsExactly(DraftTree.ROOT, 0, 1);
        assertThat(t.maxDepth()).isEqualTo(3);
        t.keepBest(0);
        assertThat(t.size()).isZero();
    }

    @Test
    void retainDropsNodesWithTheirSubtrees() {
        DraftTree t = new DraftTree();
        int a = t.add(DraftTree.ROOT, 10);
        int b = t.add(DraftTree.ROOT, 11);
        int a1 = t.add(a, 12);
        int b1 = t.add(b, 13);
        t.add(a1, 14);
        boolean[] keep = {true, false, true, true, true};
        assertThat(t.retain(keep)).isEqualTo(3);
        assertThat(t.size()).isEqualTo(3);
        assertThat(new int[] {t.token(0), t.token(1), t.token(2)}).containsExactly(10, 12, 14);
        assertThat(t.parent(1)).isZero();
        assertThat(t.parent(2)).isEqualTo(1);
        assertThat(t.maxDepth()).isEqualTo(3);
        assertThat(b1).isEqualTo(3);
    }

    @Test
    void siblingsAreNeverDuplicated() {
        DraftTree t = new DraftTree();
        int a = t.add(DraftTree.ROOT, 5);
        assertThat(t.add(DraftTree.ROOT, 5)).isEqualTo(a);
        assertThat(t.size()).isEqualTo(1);
    }

    @Test
    void controllerCutsTreesToWhatPaysForItself() {
        StepCostModel cost = new StepCostModel(0.05);
        // measured: every extra token costs a quarter of a step
        for (int n = 1; n <= 40; n++) cost.record(n, 1_000_000L + 250_000L * (n - 1));
        SpeculationController c = new SpeculationController(16, true);
        DraftTree t = new DraftTree();
        int p = DraftTree.ROOT;
        float prob = 1;
        for (int i = 0; i < 10; i++) {
            prob *= 0.9f;
            p = t.add(p, i);
            t.setScore(p, prob);
        }
        int likely = c.treeSize(t, cost, 1);
        assertThat(likely).isBetween(3, 10);
        DraftTree weak = new DraftTree();
        weak.setScore(weak.add(DraftTree.ROOT, 1), 0.1f);
        assertThat(c.treeSize(weak, cost, 1)).as("a 10 % guess does not pay for a quarter step").isZero();
    }

    @Test
    void confidentDraftsThatNeverComeTrueAreBackedOff() {
        StepCostModel cost = new StepCostModel(0.05);
        for (int n = 1; n <= 40; n++) cost.record(n, 1_000_000L + 100_000L * (n - 1));
        DraftMethod method = new DraftMethod() {
            public String name() { return "overconfident"; }
            public boolean scoresDrafts() { return true; }
            public Drafter open(int[] prompt, io.stride.core.sampling.SamplingParams sampling) { return null; }
        };
        Drafter drafter = (context, length, max, tree, hidden) -> {
            int p = DraftTree.ROOT;
            for (int i = 0; i < Math.min(max, 6); i++) {
                p = tree.add(p, i);
                tree.setScore(p, 0.95f);
            }
        };
        SpeculationController c = new SpeculationController(16, true);
        DraftTree tree = new DraftTree();
        int[] ctx = {1, 2, 3};
        int first = c.draft(drafter, method, ctx, 3, 16, tree, null, cost, 1);
        assertThat(first).as("believed at first").isPositive();
        long verified = 0;
        for (int step = 0; step < 400; step++) {
            int n = c.draft(drafter, method, ctx, 3, 16, tree, null, cost, 1);
            verified += n;
            c.record(tree.maxDepth(), 0); // nothing is ever accepted
        }
        assertThat(c.calibration()).isLessThan(0.2);
        assertThat(verified).as("only occasional probes after the first steps").isLessThan(60);
    }
}
