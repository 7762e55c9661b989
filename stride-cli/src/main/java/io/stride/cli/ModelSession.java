package io.stride.cli;

import io.stride.core.kv.KvCacheSize;
import io.stride.core.kv.KvCacheConfig;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.LoadOptions;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.parallel.WorkerPool;

import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * A model opened for a command (with a progress bar while it loads) and a worker pool. Generation builds an engine
 * over it ({@link io.stride.core.engine.EngineBuilder}); scoring and cost measurements run the forward pass directly
 * ({@link #forward}).
 */
final class ModelSession implements AutoCloseable {
    final Model model;
    final WorkerPool pool;

    ModelSession(Path path, LoadOptions options, PrintWriter err) {
        try (ProgressBar bar = ProgressBar.onStderr(err, "stride: loading " + path.getFileName())) {
            this.model = Model.open(path, options, bar);
        }
        this.pool = new WorkerPool(options.threads());
    }

    /** A forward pass and a KV cache for one sequence of {@code context} positions. */
    record Forward(Transformer transformer, PagedKvCache cache, int context) {}

    /** {@code requestedContext} 0: the model's context, at most {@code defaultCap}. */
    Forward forward(int requestedContext, int defaultCap) {
        return forward(requestedContext, defaultCap, KvCacheConfig.DEFAULT);
    }

    /** {@link #forward(int, int)} with keys and values cached as {@code kv} says. */
    Forward forward(int requestedContext, int defaultCap, KvCacheConfig kv) {
        if (requestedContext < 0) {
            throw new IllegalArgumentException("--ctx must be positive, got " + requestedContext);
        }
        int ctx = requestedContext > 0 ? requestedContext : Math.min(model.config().contextLength(), defaultCap);
        Transformer t = new Transformer(model.requireAutoregressive("next-token scoring"), pool);
        return new Forward(t, t.newCache(kv, KvCacheSize.BLOCK_SIZE, (ctx + KvCacheSize.BLOCK_SIZE - 1) / KvCacheSize.BLOCK_SIZE), ctx);
    }

    @Override
    public void close() {
        pool.close();
        model.close();
    }
}
