package io.stride.core.tools;

import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.parallel.WorkerPool;

import java.util.SplittableRandom;
import java.util.function.LongSupplier;

/**
 * llama-bench style measurements: prompt processing (one batch of P tokens) and token generation (N tokens one
 * at a time after a one-token prompt), each repeated after a warm-up that lasts until the JIT has settled.
 */
public final class Benchmark {
    /** One test's result: tokens/s of each repetition. */
    public record Result(String test, int threads, double[] tokensPerSecond, long bytesPerToken) {
        public double mean() {
            double s = 0;
            for (double v : tokensPerSecond) s += v;
            return s / tokensPerSecond.length;
        }

        public double stddev() {
            if (tokensPerSecond.length < 2) return 0;
            double m = mean(), s = 0;
            for (double v : tokensPerSecond) s += (v - m) * (v - m);
            return Math.sqrt(s / (tokensPerSecond.length - 1));
        }

        public double median() {
            double[] c = tokensPerSecond.clone();
            java.util.Arrays.sort(c);
            int n = c.length;
            return n % 2 == 1 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
        }

        /** weight bytes moved per second (tg), 0 for pp */
        public double gbPerSecond() {
            return bytesPerToken * mean() / 1e9;
        }
    }

    private final Model model;
    private final WorkerPool pool;
    private final Transformer tf;

    public Benchmark(Model model, WorkerPool pool) {
        this.model = model;
        this.pool = pool;
        this.tf = new Transformer(model, pool);
    }

    private int[] randomTokens(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(model.config().vocab());
        return t;
    }

    public Result promptProcessing(int p, int reps) {
        if (p < 1 || reps < 1) throw new IllegalArgumentException("prompt size and repetitions must be >= 1");
        PagedKvCache cache = tf.newCache(16, (p + 15) / 16);
        float[] logits = new float[model.config().vocab()];
        Batch b = new Batch();
        int[] tokens = randomTokens(p, 1);
        LongSupplier pass = () -> {
            KvSequence seq = cache.newSequence();
            cache.reserve(seq, p);
            b.clear();
            for (int i = 0; i < p; i++) b.add(tokens[i], i, seq, i == p - 1);
            long t0 = System.nanoTime();
            tf.forward(b, cache, logits);
            long dt = System.nanoTime() - t0;
            cache.release(seq);
            return dt;
        };
        return new Result("pp" + p, pool.size(), measure(pass, p, reps), 0);
    }

    /**
     * Warms up, then times {@code reps} passes of {@code tokens} tokens each: tokens/s per pass. The JVM compiles the
     * kernels while the first passes run, on the same cores (C2's threads compete with the workers, and a kernel reached
     * a few thousand times per pass, such as the logits layer's during pp, runs its slow tier for a pass or two), so the
     * warm-up repeats passes until one is not faster than the pass before by more than {@link #SETTLED} (at least
     * {@link #MIN_WARMUPS}, at most {@link #MAX_WARMUPS}): the repetitions measure the steady state, as llama-bench's do
     * for an ahead-of-time-compiled engine.
     */
    static double[] measure(LongSupplier pass, int tokens, int reps) {
        long previous = pass.getAsLong();
        for (int w = 1; w < MAX_WARMUPS; w++) {
            long t = pass.getAsLong();
            boolean settled = t > previous * (1 - SETTLED);
            previous = Math.min(previous, t);
            if (settled && w + 1 >= MIN_WARMUPS) break;
        }
        double[] tps = new double[reps];
        for (int r = 0; r < reps; r++) tps[r] = tokens * 1e9 / pass.getAsLong();
        return tps;
    }

    /** warm-up passes: at least, at most, and the speed-up below which the JIT counts as settled */
    static final int MIN_WARMUPS = 2, MAX_WARMUPS = 6;
    static final double SETTLED = 0.03;

    /** Runs one extra pp pass of {@code p} tokens with the forward pass profiled. */
    public io.stride.core.model.ForwardProfile profilePromptProcessing(int p) {
        return profiled(() -> promptProcessing(p, 1));
    }

    /** Runs one extra tg pass of {@code n} tokens with the forward pass profiled (after an unprofiled one). */
    public io.stride.core.model.ForwardProfile profileGeneration(int n) {
        tokenGeneration(n, 1);
        return profiled(() -> tokenGeneration(n, 1));
    }

    private io.stride.core.model.ForwardProfile profiled(Runnable run) {
        io.stride.core.model.ForwardProfile p = new io.stride.core.model.ForwardProfile();
        tf.profile(p);
        try {
            run.run();
        } finally {
            tf.profile(null);
        }
        return p;
    }

    public Result tokenGeneration(int n, int reps) {
        if (n < 1 || reps < 1) throw new IllegalArgumentException("generation length and repetitions must be >= 1");
        PagedKvCache cache = tf.newCache(16, (n + 1 + 15) / 16);
        float[] logits = new float[model.config().vocab()];
        Batch b = new Batch();
        int[] tokens = randomTokens(n + 1, 2);
        LongSupplier pass = () -> {
            KvSequence seq = cache.newSequence();
            cache.reserve(seq, n + 1);
            b.clear();
            b.add(tokens[0], 0, seq, true);
            tf.forward(b, cache, logits);
            long t0 = System.nanoTime();
            for (int i = 1; i <= n; i++) {
                b.clear();
                b.add(tokens[i], i, seq, true);
                tf.forward(b, cache, logits);
            }
            long dt = System.nanoTime() - t0;
            cache.release(seq);
            return dt;
        };
        return new Result("tg" + n, pool.size(), measure(pass, n, reps), model.weights().bytesPerToken());
    }
}
