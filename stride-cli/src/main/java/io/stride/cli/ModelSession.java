package io.stride.cli;

import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.tensor.WorkerPool;

import java.nio.file.Path;

/** A model opened for computing: the model, a worker pool, a forward pass and a KV cache sized to the context. */
final class ModelSession implements AutoCloseable {
    static final int BLOCK_SIZE = 16;
    final Model model;
    final WorkerPool pool;
    final Transformer transformer;
    final PagedKvCache cache;
    final int context;

    /** Context defaults to the model's, capped at 4096 positions. */
    ModelSession(Path path, int threads, int requestedContext) {
        this(path, threads, requestedContext, 4096);
    }

    /** {@code requestedContext} 0 means the model's context, capped at {@code defaultCap}. */
    ModelSession(Path path, int threads, int requestedContext, int defaultCap) {
        if (threads < 1 || threads > 1024) {
            throw new IllegalArgumentException("--threads must be between 1 and 1024, got " + threads);
        }
        if (requestedContext < 0) {
            throw new IllegalArgumentException("--ctx must be positive, got " + requestedContext);
        }
        this.model = Model.open(path);
        int ctx = requestedContext > 0 ? requestedContext : Math.min(model.config().contextLength(), defaultCap);
        this.context = ctx;
        this.pool = new WorkerPool(threads);
        this.transformer = new Transformer(model, pool);
        this.cache = transformer.newCache(BLOCK_SIZE, (ctx + BLOCK_SIZE - 1) / BLOCK_SIZE);
    }

    @Override
    public void close() {
        pool.close();
        model.close();
    }
}
