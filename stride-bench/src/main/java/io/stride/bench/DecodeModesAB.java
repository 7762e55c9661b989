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
 * Dense against sparse decode attention on one context: fills DEPTH random tokens once, then runs rounds of 16 decode
 * steps dense and with each MODE ({@code +}-separated; the order rotates every round), so the machine's drift falls on
 * all alike. {@code random} fills the cache with random keys and values instead of prefilling DEPTH tokens (a decode
 * step costs the same whatever the values; a 32k prefill takes most of an hour on two cores).
 * Prints the medians of ms per step and of attention ms per step (the first two rounds are warm-up), and for ShadowKV
 * the bytes of its key representation against the prompt's f16 keys.
 *
 * <pre>java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp stride-bench/target/benchmarks.jar \
 *   io.stride.bench.DecodeModesAB MODEL DEPTH MODE[+MODE..] ROUNDS [THREADS [random|model [CACHE_TYPE]]]</pre>
 */
public final class DecodeModesAB {
    private static final int STEPS = 16;

    private DecodeModesAB() {}

    public static void main(String[] a) throws Exception {
        if (a.length < 4) {
            System.err.println("usage: DecodeModesAB MODEL DEPTH MODE[+MODE..] ROUNDS [THREADS [random|model [CACHE_TYPE]]]");
            System.exit(2);
        }
        int depth = Integer.parseInt(a[1]), rounds = Integer.parseInt(a[3]);
        int threads = a.length > 4 ? Integer.parseInt(a[4]) : 2;
        boolean randomFill = a.length > 5 && a[5].equals("random");
        // a[6]: the KV cache type of keys and values (default f16)
        try (Model m = Model.open(Path.of(a[0])); WorkerPool pool = new WorkerPool(threads)) {
            Transformer tf = new Transformer(m, pool);
            List<SparseAttention> list = new ArrayList<>();
            list.add(null); // dense first
            for (String spec : a[2].split("\\+")) {
                SparseAttention sa = SparseAttention.parse(spec);
                if (sa != null) list.add(sa.forLayers(m.config().layers(), m.config().kvDimK()));
            }
            SparseAttention[] modes = list.toArray(new SparseAttention[0]);
            int vocab = m.config().vocab();
            io.stride.core.kv.KvCacheConfig kv = a.length > 6 ? io.stride.core.kv.KvCacheConfig.of(io.stride.core.kv.KvCacheType.parse(a[6]))
                    : io.stride.core.kv.KvCacheConfig.DEFAULT;
            PagedKvCache cache = tf.newCache(kv, 16, (depth + STEPS + 15) / 16 + 1);
            KvSequence seq = cache.newSequence();
            cache.reserve(seq, depth + STEPS);
            Batch b = new Batch();
            float[] logits = new float[512 * vocab];
            SplittableRandom r = new SplittableRandom(3);
            if (randomFill) {
                // keys and values of N(0, 1) instead of a prefill: a decode step's cost does not depend on the values
                float[] k = new float[m.config().kvDimK()], v = new float[m.config().kvDimV()];
                for (int l = 0; l < m.config().layers(); l++) {
                    for (int i = 0; i < depth; i++) {
                        for (int j = 0; j < k.length; j++) k[j] = (float) r.nextGaussian();
                        for (int j = 0; j < v.length; j++) v[j] = (float) r.nextGaussian();
                        cache.writeKey(l, seq.slot(i), k, 0);
                        cache.writeValue(l, seq.slot(i), v, 0);
                    }
                }
                seq.setLength(depth);
            } else {
                for (int s = 0; s < depth; s += 512) {
                    b.clear();
                    for (int i = s; i < Math.min(depth, s + 512); i++) b.add(r.nextInt(vocab), i, seq, i == depth - 1);
                    tf.forward(b, cache, logits);
                }
            }
            List<List<Double>> ms = new ArrayList<>(), att = new ArrayList<>();
            double[] first = new double[modes.length]; // the first step of each mode (ShadowKV's includes building its factors)
            for (int k = 0; k < modes.length; k++) {
                ms.add(new ArrayList<>());
                att.add(new ArrayList<>());
            }
            for (int round = 0; round < rounds; round++) {
                for (int j = 0; j < modes.length; j++) {
                    int k = (j + round) % modes.length; // the order rotates every round
                    ForwardProfile p = new ForwardProfile();
                    tf.profile(p);
                    long t0 = System.nanoTime();
                    for (int i = 0; i < STEPS; i++) {
                        long s0 = System.nanoTime();
                        b.clear();
                        b.add(r.nextInt(vocab), depth + i, seq, true);
                        b.setSparse(0, modes[k]);
                        tf.forward(b, cache, logits);
                        if (round == 0 && i == 0) first[k] = (System.nanoTime() - s0) / 1e6;
                    }
                    double step = (System.nanoTime() - t0) / 1e6 / STEPS;
                    tf.profile(null);
                    if (round >= 2) {
                        ms.get(k).add(step);
                        att.get(k).add(p.total() * p.shares().get(ForwardProfile.Part.ATTENTION) / 1e6 / STEPS);
                    }
                }
            }
            for (int k = 0; k < modes.length; k++) {
                System.out.printf("%s depth %d, %d threads, " + kv + ", %s: %.2f ms/step (attention %.2f), %.2fx dense, %d rounds; first step %.0f ms%n",
                        Path.of(a[0]).getFileName(), depth, threads, modes[k] == null ? "dense" : modes[k], median(ms.get(k)),
                        median(att.get(k)), median(ms.get(0)) / median(ms.get(k)), ms.get(k).size(), first[k]);
            }
            if (seq.shadowKeys() != null) {
                // ShadowKV's keys of the prompt, as a cache with a key pool of its own keeps them once the factored
                // positions' whole blocks are given back (--kv-key-share): factors, landmarks, bases and outlier keys,
                // plus the cache's keys of the blocks from the first position not factored; against f16 keys of the prompt
                io.stride.core.kv.ShadowKeys sk = seq.shadowKeys();
                int kept = depth - sk.chunks() * sk.chunk() / 16 * 16;
                long f16 = 2L * depth * m.config().kvDimK() * m.config().layers();
                long stored = (long) m.config().layers() * kept * kv.keys().bytes(m.config().kvDimK());
                long shadow = sk.bytes() + stored;
                System.out.printf("shadowkv keys of the %d-position prompt: %.2f MB (rank %d: factors, landmarks, bases, outlier "
                        + "keys %.2f MB; the last %d positions' keys as cached %.2f MB) vs %.2f MB of f16 keys: %.3fx%n", depth,
                        shadow / 1e6, sk.rank(), sk.bytes() / 1e6, kept, stored / 1e6, f16 / 1e6, shadow / (double) f16);
            }
        }
    }

    private static double median(List<Double> v) {
        List<Double> c = new ArrayList<>(v);
        Collections.sort(c);
        return c.get(c.size() / 2);
    }
}
