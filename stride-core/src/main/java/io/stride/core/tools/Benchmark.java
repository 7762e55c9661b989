package io.stride.core.tools;

import io.stride.core.kv.KvCacheSize;
import io.stride.core.kv.KvCacheConfig;
import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.sparse.SparseAttention;

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
    private final KvCacheConfig kv;
    private final SparseAttention sparse;

    public Benchmark(Model model, WorkerPool pool) {
        this(model, pool, KvCacheConfig.DEFAULT);
    }

    /** Measurements with keys and values cached as {@code kv} says. */
    public Benchmark(Model model, WorkerPool pool, KvCacheConfig kv) {
        this(model, pool, kv, null);
    }

    /** As {@link #Benchmark(Model, WorkerPool, KvCacheConfig)}, the tg tokens decoded with {@code sparse} attention (null: dense). */
    public Benchmark(Model model, WorkerPool pool, KvCacheConfig kv, SparseAttention sparse) {
        this.model = model;
        this.pool = pool;
        this.tf = new Transformer(model.requireAutoregressive("bench (token generation)"), pool);
        this.kv = kv;
        kv.checkZipAllows(sparse == null, "sparse attention");
        this.sparse = sparse == null ? null : sparse.forLayers(model.config().layers(), model.config().kvDimK());
    }

    private int[] randomTokens(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(model.config().vocab());
        return t;
    }

    public Result promptProcessing(int p, int reps) {
        return promptProcessing(p, reps, 0);
    }

    /** pp: one batch of {@code p} tokens after {@code depth} tokens already in the KV cache (computed once, untimed). */
    public Result promptProcessing(int p, int reps, int depth) {
        if (p < 1 || reps < 1 || depth < 0) throw new IllegalArgumentException("prompt size and repetitions must be >= 1, depth >= 0");
        PagedKvCache cache = tf.newCache(kv, KvCacheSize.BLOCK_SIZE, (depth + p + 15) / 16);
        float[] logits = new float[model.config().vocab()];
        Batch b = new Batch();
        int[] tokens = randomTokens(p, 1);
        KvSequence seq = filled(cache, depth, depth + p, b, logits);
        LongSupplier pass = () -> {
            cache.reserve(seq, depth + p);
            b.clear();
            for (int i = 0; i < p; i++) b.add(tokens[i], depth + i, seq, i == p - 1);
            long t0 = System.nanoTime();
            tf.forward(b, cache, logits);
            long dt = System.nanoTime() - t0;
            cache.truncate(seq, depth);
            return dt;
        };
        Result r = new Result(name("pp" + p, depth), pool.size(), measure(pass, p, reps), 0);
        cache.release(seq);
        return r;
    }

    private static String name(String test, int depth) {
        return depth == 0 ? test : test + " @ d" + depth;
    }

    /**
     * A sequence holding {@code depth} random tokens' keys and values, reserved for {@code total} positions; each pass
     * truncates back to {@code depth} and re-reserves, so every repetition sees the same context.
     */
    private KvSequence filled(PagedKvCache cache, int depth, int total, Batch b, float[] logits) {
        KvSequence seq = cache.newSequence();
        cache.reserve(seq, total);
        int[] context = randomTokens(depth, 3);
        for (int start = 0; start < depth; start += 512) {
            b.clear();
            for (int i = start; i < Math.min(depth, start + 512); i++) b.add(context[i], i, seq, i == depth - 1);
            tf.forward(b, cache, logits);
        }
        return seq;
    }

    /**
     * Warms up, then times {@code reps} passes of {@code tokens} tokens each: tokens/s per pass. The JVM compiles the
     * kernels while the first passes run, on the same cores (the compiler threads compete with the workers, and a kernel
     * reached a few thousand times per pass, such as the logits layer's during pp, runs its slow tier for a pass or two), so the
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
        return profileGeneration(n, 0);
    }

    /** {@link #profileGeneration(int)} after {@code depth} cached tokens (the fill is not profiled). */
    public io.stride.core.model.ForwardProfile profileGeneration(int n, int depth) {
        Generation g = new Generation(n, depth);
        g.pass();
        g.pass();
        io.stride.core.model.ForwardProfile p = profiled(g::pass);
        g.release();
        return p;
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
        return tokenGeneration(n, reps, 0);
    }

    /**
     * tg: {@code n} tokens one at a time after {@code depth} tokens already in the KV cache (at least one: a one-token
     * prompt, as llama-bench's tg), computed once and untimed.
     */
    public Result tokenGeneration(int n, int reps, int depth) {
        if (n < 1 || reps < 1 || depth < 0) throw new IllegalArgumentException("generation length and repetitions must be >= 1, depth >= 0");
        Generation g = new Generation(n, depth);
        Result r = new Result(name("tg" + n, depth), pool.size(), measure(g::pass, n, reps), model.weights().bytesPerToken());
        g.release();
        return r;
    }

    /** A cache filled with {@code max(1, depth)} tokens once, and passes of {@code n} tokens each generated after them. */
    private final class Generation {
        final int n, context;
        final PagedKvCache cache;
        final float[] logits = new float[model.config().vocab()];
        final Batch b = new Batch();
        final int[] tokens;
        final KvSequence seq;

        Generation(int n, int depth) {
            this.n = n;
            this.context = Math.max(1, depth);
            this.cache = tf.newCache(kv, KvCacheSize.BLOCK_SIZE, (context + n + 15) / 16);
            this.tokens = randomTokens(n, 2);
            this.seq = filled(cache, context, context + n, b, logits);
        }

        long pass() {
            cache.reserve(seq, context + n);
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                b.clear();
                b.add(tokens[i], context + i, seq, true);
                b.setSparse(0, sparse);
                tf.forward(b, cache, logits);
            }
            long dt = System.nanoTime() - t0;
            cache.truncate(seq, context);
            return dt;
        }

        void release() {
            cache.release(seq);
        }
    }
}
