package io.stride.core.model;

import io.stride.core.SharedData;
import io.stride.core.kv.KvCacheConfig;
import io.stride.core.kv.KvCacheType;
import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.kv.ShadowKeys;
import io.stride.core.parallel.WorkerPool;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * ShadowKV's low-rank keys against the keys the cache stores: at full rank the factors rebuild every stored key (RoPE
 * and the cache's rotation undone and redone; the error is the factors' f16 rounding), the error falls as the rank
 * grows, and each landmark is its chunk's mean key.
 */
class ShadowKeysTest {
    private static final int PROMPT = 160, CHUNK = 8;

    @ParameterizedTest
    @ValueSource(strings = {"f16", "q4_0"})
    void factorsRebuildTheStoredKeys(String type) {
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf")); WorkerPool pool = new WorkerPool(2)) {
            ModelConfig c = m.config();
            Transformer tf = new Transformer(m, pool);
            PagedKvCache cache = tf.newCache(KvCacheConfig.of(KvCacheType.parse(type)), 16, PROMPT / 16 + 1);
            KvSequence seq = cache.newSequence();
            cache.reserve(seq, PROMPT);
            Batch b = new Batch();
            for (int p = 0; p < PROMPT; p++) {
                b.add((p * 7919 + 13) % c.vocab(), p, seq, p == PROMPT - 1);
            }
            tf.forward(b, cache, new float[c.vocab()]);
            Rope rope = new Rope(c, m.weights().ropeFreqFactors());
            float[] cos = new float[PROMPT * rope.half()], sin = new float[cos.length];
            for (int p = 0; p < PROMPT; p++) {
                rope.angles(p, cos, sin, p * rope.half());
            }
            int kRot = cache.config().keyRotation(c.headDimK());
            double previous = Double.POSITIVE_INFINITY;
            for (int rank : new int[]{8, 32, c.kvDimK()}) {
                ShadowKeys sk = new ShadowKeys(c.layers(), PROMPT, rank, CHUNK, PROMPT / CHUNK - 2, 2, c.kvDimK());
                double err = 0, norm = 0;
                for (int l = 0; l < c.layers(); l++) {
                    new ShadowKeysBuilder(c, rope, pool).build(sk, l, cache, seq, kRot);
                    float[] stored = new float[c.headDimK()], rebuilt = new float[c.headDimK()], f = new float[rank];
                    for (int p = 0; p < PROMPT; p++) {
                        for (int h = 0; h < c.kvHeads(); h++) {
                            cache.keys(l).widenKey(seq.slot(p), h * c.headDimK(), c.headDimK(), stored, 0, 1);
                            ShadowKeysBuilder.rebuild(sk, l, h, p, c.headDimK(), rope, cos, sin, kRot, f, rebuilt);
                            for (int d = 0; d < stored.length; d++) {
                                err += (stored[d] - rebuilt[d]) * (double) (stored[d] - rebuilt[d]);
                                norm += stored[d] * (double) stored[d];
                            }
                        }
                    }
                    if (rank == c.kvDimK()) {
                        checkLandmarks(c, cache, seq, sk, l);
                    }
                }
                double rel = Math.sqrt(err / norm);
                System.out.printf("%s rank %d: relative key error %.5f%n", type, rank, rel);
                assertThat(rel).as("rank %d", rank).isLessThan(previous);
                if (rank == c.kvDimK()) {
                    assertThat(rel).as("full rank").isLessThan(2e-3);
                }
                previous = rel;
            }
        }
    }

    /**
     * Each landmark is its chunk's mean stored key (to f16 rounding); each head names its outlier chunks, ascending, and
     * keeps their stored keys.
     */
    private static void checkLandmarks(ModelConfig c, PagedKvCache cache, KvSequence seq, ShadowKeys sk, int l) {
        int w = c.kvDimK();
        float[] key = new float[w], mark = new float[w];
        for (int ch = 0; ch < sk.chunks(); ch++) {
            double[] mean = new double[w];
            for (int s = 0; s < CHUNK; s++) {
                cache.keys(l).widenKey(seq.slot(ch * CHUNK + s), 0, w, key, 0, 1);
                for (int j = 0; j < w; j++) mean[j] += key[j] / (double) CHUNK;
            }
            sk.landmarks(l).widenKey(ch, 0, w, mark, 0, 1);
            for (int j = 0; j < w; j++) {
                assertThat((double) mark[j]).isCloseTo(mean[j], org.assertj.core.data.Offset.offset(1e-3 + 1e-3 * Math.abs(mean[j])));
            }
        }
        int[] out = sk.outliers(l);
        int hd = c.headDimK(), oc = sk.outlierCount();
        float[] copy = new float[hd], stored = new float[hd];
        for (int h = 0; h < c.kvHeads(); h++) {
            for (int j = 1; j < oc; j++) {
                assertThat(out[h * oc + j]).isGreaterThan(out[h * oc + j - 1]);
            }
            // the outliers' keys are kept as the cache stores them, bit for bit (re-storing a widened value is exact)
            for (int j = 0; j < oc; j++) {
                for (int s = 0; s < CHUNK; s++) {
                    sk.outlierKeys(l).widenKey((h * oc + j) * CHUNK + s, 0, hd, copy, 0, 1);
                    cache.keys(l).widenKey(seq.slot(out[h * oc + j] * CHUNK + s), h * hd, hd, stored, 0, 1);
                    assertThat(copy).as("layer %d head %d outlier %d position %d", l, h, j, s).containsExactly(stored);
                }
            }
        }
    }
}
