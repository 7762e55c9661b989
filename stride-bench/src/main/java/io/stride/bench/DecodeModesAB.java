package io.stride.bench;

import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.model.ForwardProfile;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.sparse.SparseAttention;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Dense against sparse decode attention on one context: fills DEPTH random tokens once, then alternates rounds of 16
 * decode steps dense and with MODE (which goes first flips every round), so the machine's drift falls on both alike.
 * Prints the medians of ms per step and of attention ms per step (the first two rounds are warm-up), and for ShadowKV
 * the bytes of its key representation against the prompt's f16 keys.
 *
 * <pre>java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp stride-bench/target/benchmarks.jar \
 *   io.stride.bench.DecodeModesAB MODEL DEPTH MODE ROUNDS [THREADS]</pre>
 */
public final class DecodeModesAB {
    private static final int STEPS = 16;

    private DecodeModesAB() {}

    public static void main(String[] a) throws Exception {
        if (a.length < 4) {
            System.err.println("usage: DecodeModesAB MODEL DEPTH MODE ROUNDS [THREADS]");
            System.exit(2);
        }
        int depth = Integer.parseInt(a[1]), rounds = Integer.parseInt(a[3]);
        int threads = a.length > 4 ? Integer.parseInt(a[4]) : 2;
        try (Model m = Model.open(Path.of(a[0])); WorkerPool pool = new WorkerPool(threads)) {
            Transformer tf = new Transformer(m, pool);
            SparseAttention sa = SparseAttention.parse(a[2]).forLayers(m.config().layers(), m.config().kvDimK());
            int vocab = m.config().vocab();
            PagedKvCache cache = tf.newCache(16, (depth + STEPS + 15) / 16 + 1);
            KvSequence seq = cache.newSequence();
            cache.reserve(seq, depth + STEPS);
            Batch b = new Batch();
            float[] logits = new float[512 * vocab];
            SplittableRandom r = new SplittableRandom(3);
            for (int s = 0; s < depth; s += 512) {
                b.clear();
                for (int i = s; i < Math.min(depth, s + 512); i++) b.add(r.nextInt(vocab), i, seq, i == depth - 1);
                tf.forward(b, cache, logits);
            }
            List<Double> dense = new ArrayList<>(), sparse = new ArrayList<>(), denseAtt = new ArrayList<>(), sparseAtt = new ArrayList<>();
            for (int round = 0; round < rounds; round++) {
                for (boolean sp : new boolean[] {round % 2 == 0, round % 2 != 0}) {
                    ForwardProfile p = new ForwardProfile();
                    tf.profile(p);
                    long t0 = System.nanoTime();
                    for (int i = 0; i < STEPS; i++) {
                        b.clear();
                        b.add(r.nextInt(vocab), depth + i, seq, true);
                        b.setSparse(0, sp ? sa : null);
                        tf.forward(b, cache, logits);
                    }
                    double ms = (System.nanoTime() - t0) / 1e6 / STEPS;
                    tf.profile(null);
                    double att = p.total() * p.shares().get(ForwardProfile.Part.ATTENTION) / 1e6 / STEPS;
                    if (round >= 2) {
                        (sp ? sparse : dense).add(ms);
                        (sp ? sparseAtt : denseAtt).add(att);
                    }
                }
            }
            System.out.printf("%s depth %d, %d threads: dense %.2f ms/step (attention %.2f), %s %.2f ms/step (attention %.2f): "
                            + "%.2fx, %d rounds each%n", Path.of(a[0]).getFileName(), depth, threads, median(dense), median(denseAtt), sa,
                    median(sparse), median(sparseAtt), median(dense) / median(sparse), dense.size());
            if (seq.shadowKeys() != null) {
                // ShadowKV's keys of the prompt against the prompt's dense keys in f16 (the cache's default type)
                io.stride.core.kv.ShadowKeys sk = seq.shadowKeys();
                long f16 = 2L * depth * m.config().kvDimK() * m.config().layers();
                long shadow = sk.bytes() + m.config().layers() * sk.storedKeyBytesPerLayer(2.0);
                System.out.printf("shadowkv keys of the %d-position prompt: %.2f MB (rank %d: factors, landmarks, bases; "
                        + "outlier and local chunks' stored keys counted in f16) vs %.2f MB of f16 keys: %.3fx%n", depth,
                        shadow / 1e6, sk.rank(), f16 / 1e6, shadow / (double) f16);
            }
        }
    }

    private static double median(List<Double> v) {
        List<Double> c = new ArrayList<>(v);
        Collections.sort(c);
        return c.get(c.size() / 2);
    }
}
