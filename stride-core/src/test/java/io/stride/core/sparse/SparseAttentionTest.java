package io.stride.core.sparse;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SparseAttentionTest {
    @Test
    void parsesTheModesAndTheirOptions() {
        assertThat(SparseAttention.parse("none")).isNull();
        assertThat(SparseAttention.parse(" NONE ")).isNull();
        assertThat(SparseAttention.parse("tidal")).isEqualTo(new SparseAttention(512, -1, -1));
        assertThat(SparseAttention.parse("tidal:budget=256,select=3,reselect=none"))
                .isEqualTo(new SparseAttention(256, 3, SparseAttention.NO_RESELECT));
        assertThat(SparseAttention.parse("tidal:reselect=5")).isEqualTo(new SparseAttention(512, -1, 5));
        assertThat(SparseAttention.parse("tidal:budget=64,sink=4,window=16")).isEqualTo(new SparseAttention(64, -1, -1, 4, 16));
        assertThat(SparseAttention.parse("tidal:budget=64,sink=4,window=16").forLayers(8, 256).toString())
                .isEqualTo("tidal:budget=64,select=2,reselect=5,sink=4,window=16");
    }

    @Test
    void badModesAndOptionsAreNamed() {
        assertThatThrownBy(() -> SparseAttention.parse("quest")).hasMessageContaining("'quest'").hasMessageContaining("tidal");
        assertThatThrownBy(() -> SparseAttention.parse("tidal:topk=3")).hasMessageContaining("'topk'");
        assertThatThrownBy(() -> SparseAttention.parse("tidal:budget=0")).hasMessageContaining("budget");
        assertThatThrownBy(() -> SparseAttention.parse("tidal:budget=x")).hasMessageContaining("budget");
        assertThatThrownBy(() -> SparseAttention.parse("tidal:budget")).hasMessageContaining("key=value");
        assertThatThrownBy(() -> SparseAttention.parse("tidal:budget=16,window=17")).hasMessageContaining("window=17");
    }

    @Test
    void layersFollowThePapersRuleOfThumbAndAreChecked() {
        SparseAttention d = SparseAttention.parse("tidal");
        assertThat(d.forLayers(32, 256)).isEqualTo(new SparseAttention(512, 2, 17));
        assertThat(d.forLayers(22, 256)).isEqualTo(new SparseAttention(512, 2, 12));
        assertThat(d.forLayers(8, 256)).isEqualTo(new SparseAttention(512, 2, 5));
        assertThat(d.forLayers(5, 256)).isEqualTo(new SparseAttention(512, 2, SparseAttention.NO_RESELECT));
        assertThat(d.forLayers(4, 256)).isEqualTo(new SparseAttention(512, 2, SparseAttention.NO_RESELECT));
        assertThat(d.forLayers(2, 256)).isEqualTo(new SparseAttention(512, 1, SparseAttention.NO_RESELECT));
        assertThat(d.forLayers(8, 256).forLayers(8, 256)).isEqualTo(d.forLayers(8, 256));
        assertThatThrownBy(() -> SparseAttention.parse("tidal:select=8").forLayers(8, 256)).hasMessageContaining("select=8");
        assertThatThrownBy(() -> SparseAttention.parse("tidal:select=4,reselect=3").forLayers(8, 256)).hasMessageContaining("reselect=3");

        SparseAttention r = d.forLayers(8, 256);
        assertThat(r.role(0)).isEqualTo(SparseAttention.Role.DENSE);
        assertThat(r.role(1)).isEqualTo(SparseAttention.Role.DENSE);
        assertThat(r.role(2)).isEqualTo(SparseAttention.Role.SELECT);
        assertThat(r.role(3)).isEqualTo(SparseAttention.Role.SPARSE);
        assertThat(r.role(5)).isEqualTo(SparseAttention.Role.SELECT);
        assertThat(r.role(7)).isEqualTo(SparseAttention.Role.SPARSE);
    }

    @Test
    void parsesShadowKvWithThePapersDefaults() {
        SparseAttention d = SparseAttention.parse("shadowkv");
        assertThat(d.budget()).isEqualTo(2048);
        assertThat(d.shadow()).isEqualTo(new ShadowKv(0, 8, 48, 4));
        assertThat(d.shadow().rankFor(1024)).isEqualTo(160);
        assertThat(d.shadow().rankFor(256)).isEqualTo(40);
        assertThat(d.forLayers(22, 256)).isEqualTo(d);
        assertThat(d.role(0)).isEqualTo(SparseAttention.Role.SPARSE);
        SparseAttention s = SparseAttention.parse("shadowkv:budget=512,rank=64,chunk=16,outliers=2,local=1");
        assertThat(s.shadow()).isEqualTo(new ShadowKv(64, 16, 2, 1));
        assertThat(SparseAttention.parse(s.toString())).isEqualTo(s);
        // 100 positions: 12 chunks of 8 less 4 local; sparse only when some are left out
        assertThat(d.shadow().chunks(100)).isEqualTo(8);
        assertThat(new ShadowKv(0, 8, 2, 4).applies(100, 40)).isTrue();
        assertThat(new ShadowKv(0, 8, 2, 4).applies(100, 48)).isFalse();
        assertThatThrownBy(() -> SparseAttention.parse("shadowkv:budget=100")).hasMessageContaining("multiple of chunk=8");
        assertThatThrownBy(() -> SparseAttention.parse("shadowkv:topk=3")).hasMessageContaining("'topk'");
        assertThatThrownBy(() -> SparseAttention.parse("shadowkv:chunk=0")).hasMessageContaining("chunk");
        assertThatThrownBy(() -> SparseAttention.parse("shadowkv:rank=300").forLayers(8, 256)).hasMessageContaining("rank=300");
    }

    @Test
    void topKMatchesASortWithTiesToTheLowerIndex() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + rnd.nextInt(400);
            int k = 1 + rnd.nextInt(n + 20);
            float[] w = new float[n];
            boolean ties = trial % 3 == 0;
            for (int i = 0; i < n; i++) {
                w[i] = ties ? rnd.nextInt(6) : (float) rnd.nextDouble();
            }
            int[] out = new int[n + 5];
            int m = TopK.select(w, n, k, new float[n], out, 5);
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) order[i] = i;
            Arrays.sort(order, (a, b) -> w[a] != w[b] ? Float.compare(w[b], w[a]) : Integer.compare(a, b));
            int[] expect = Arrays.stream(order).limit(Math.min(k, n)).mapToInt(Integer::intValue).sorted().toArray();
            assertThat(m).isEqualTo(expect.length);
            assertThat(Arrays.copyOfRange(out, 5, 5 + m)).as("trial %d", trial).containsExactly(expect);
        }
    }
}
