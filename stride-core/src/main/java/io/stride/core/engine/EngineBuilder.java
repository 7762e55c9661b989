package io.stride.core.engine;

import io.stride.core.diffusion.DiffusionOptions;
import io.stride.core.kv.KvCacheSize;
import io.stride.core.kv.KvCacheConfig;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.kv.tier.KvHandoff;
import io.stride.core.kv.tier.KvStore;
import io.stride.core.kv.tier.KvTier;
import io.stride.core.kv.tier.ModelFingerprint;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.sparse.SparseAttention;

/**
 * Builds an {@link InferenceEngine} from what a user states (context, KV cache size in blocks or memory, batch and
 * sequence limits, speculation), owning the derived decisions: the context default, the block size and the KV cache
 * size ({@link KvCacheSize}). Every entry point ({@code serve}, {@code generate}, benchmarks, the library API) builds
 * its engine here, so they size it the same way.
 */
public final class EngineBuilder {
    /** The context when none is asked for: the model's, at most this. */
    public static final int DEFAULT_CONTEXT_CAP = 4096;

    private final Model model;
    private final WorkerPool pool;
    private int requestedContext;
    private int contextCap = DEFAULT_CONTEXT_CAP;
    private Integer kvBlocks;
    private Long kvBytes;
    private KvCacheConfig kvCache = KvCacheConfig.DEFAULT;
    private int maxSequences = 32;
    private int maxBatchTokens = 128;
    private int maxQueue = 256;
    private boolean chunkedPrefill = true;
    private boolean prefixCaching = true;
    private int repetitionWindow;
    private boolean jumpForward = true;
    private SpeculationConfig speculation = SpeculationConfig.NONE;
    private SparseAttention sparse;
    private DiffusionOptions diffusion = DiffusionOptions.BASELINE;
    private EngineListener listener;
    private KvStore kvStore;
    private String kvStorePrefix = "stride:kv";
    private KvHandoff handoff;
    private long warmupNanos;
    private Warmup.Report warmup;

    private EngineBuilder(Model model, WorkerPool pool) {
        this.model = model;
        this.pool = pool;
    }

    public static EngineBuilder of(Model model, WorkerPool pool) {
        return new EngineBuilder(model, pool);
    }

    /** Positions per sequence; 0: the model's own, at most {@link #DEFAULT_CONTEXT_CAP}. */
    public EngineBuilder context(int positions) {
        if (positions < 0) throw new IllegalArgumentException("the context must be positive, got " + positions);
        this.requestedContext = positions;
        return this;
    }

    /** The cap on the default context (e.g. none for perplexity windows). */
    public EngineBuilder contextCap(int cap) {
        this.contextCap = cap;
        return this;
    }

    /** KV cache size in blocks of {@link KvCacheSize#BLOCK_SIZE} positions, or null for the default. */
    public EngineBuilder kvBlocks(Integer blocks) {
        this.kvBlocks = blocks;
        return this;
    }

    /** KV cache size in bytes, or null for the default. */
    public EngineBuilder kvMemory(Long bytes) {
        this.kvBytes = bytes;
        return this;
    }

    /** How keys and values are cached (default {@link KvCacheConfig#DEFAULT}). */
    public EngineBuilder kvCache(KvCacheConfig kv) {
        this.kvCache = kv;
        return this;
    }

    public EngineBuilder maxSequences(int n) {
        this.maxSequences = n;
        return this;
    }

    public EngineBuilder maxBatchTokens(int n) {
        this.maxBatchTokens = n;
        return this;
    }

    public EngineBuilder maxQueue(int n) {
        this.maxQueue = n;
        return this;
    }

    public EngineBuilder chunkedPrefill(boolean on) {
        this.chunkedPrefill = on;
        return this;
    }

    public EngineBuilder prefixCaching(boolean on) {
        this.prefixCaching = on;
        return this;
    }

    /** See {@link EngineConfig#jumpForward()}; on by default. */
    public EngineBuilder jumpForward(boolean on) {
        this.jumpForward = on;
        return this;
    }

    /** See {@link EngineConfig#repetitionWindow()}; 0: off. */
    public EngineBuilder repetitionWindow(int tokens) {
        this.repetitionWindow = tokens;
        return this;
    }

    public EngineBuilder speculation(SpeculationConfig s) {
        this.speculation = s;
        return this;
    }

    /** The sparse attention of requests that name none (null: dense). */
    public EngineBuilder sparseAttention(SparseAttention s) {
        this.sparse = s == null ? null : s.forLayers(model.config().layers(), model.config().kvDimK());
        return this;
    }

    public EngineBuilder listener(EngineListener l) {
        this.listener = l;
        return this;
    }

    /**
     * Shares prefix blocks with other replicas through {@code store} (keys under {@code prefix}); {@code handoff}
     * non-null makes this engine the decode side of a prefill/decode pair. Needs the prefix cache. The engine closes
     * the store.
     */
    public EngineBuilder kvStore(KvStore store, String prefix, KvHandoff handoff) {
        if (handoff != null && store == null) {
            throw new IllegalArgumentException("a prefill handoff needs a shared KV store");
        }
        this.kvStore = store;
        this.kvStorePrefix = prefix;
        this.handoff = handoff;
        return this;
    }

    /** Run a few requests through the model before the engine opens (see {@link Warmup}), for at most this long. */
    public EngineBuilder warmup(long budgetNanos) {
        this.warmupNanos = budgetNanos;
        return this;
    }

    public int context() {
        return requestedContext > 0 ? requestedContext : Math.min(model.config().contextLength(), contextCap);
    }

    public KvCacheSize kvSize() {
        return KvCacheSize.resolve(model.config(), kvCache, context(), maxSequences, kvBlocks, kvBytes);
    }

    public EngineConfig config() {
        return new EngineConfig(maxBatchTokens, maxSequences, maxQueue, context(), chunkedPrefill, prefixCaching, repetitionWindow,
                jumpForward);
    }

    /** What the warm-up of the last {@link #build} did, or null. */
    public Warmup.Report warmupReport() {
        return warmup;
    }

    /** How a diffusion model decodes ({@link DiffusionOptions#BASELINE} unless set); an error for other models. */
    public EngineBuilder diffusion(DiffusionOptions options) {
        if (!model.isDiffusion()) {
            throw new IllegalArgumentException("diffusion decoding options apply only to diffusion models; " + model.config().arch().name()
                    + " is autoregressive");
        }
        this.diffusion = options;
        return this;
    }

    public InferenceEngine build() {
        EngineConfig cfg = config();
        kvCache.checkZipAllows(sparse == null, "sparse attention");
        kvCache.checkZipAllows(kvStore == null, "a shared KV store");
        kvCache.checkZipAllows(!model.isDiffusion(), "a diffusion model");
        if (model.isDiffusion()) {
            if (kvCache.separateKeys()) {
                throw new IllegalArgumentException("--kv-key-share does not apply to a diffusion model (its canvas cache holds every key)");
            }
            if (!speculation.methods().isEmpty() || sparse != null) {
                throw new IllegalArgumentException((sparse != null ? "sparse attention" : "speculative decoding")
                        + " does not apply to a diffusion model");
            }
            // the decoder keeps its own canvas cache; the engine's holds one block
            Transformer t = new Transformer(model, pool);
            DiffusionRunner runner = new DiffusionRunner(model, pool, cfg.contextLength(), diffusion);
            if (kvStore != null) {
                throw new IllegalArgumentException("a shared KV store does not apply to a diffusion model (it has no prefix cache)");
            }
            return new InferenceEngine(model, t, t.newCache(kvCache, KvCacheSize.BLOCK_SIZE, 1), cfg, listener, speculation, null, runner,
                    null);
        }
        Transformer transformer = new Transformer(model, pool);
        PagedKvCache cache = transformer.newCache(kvCache, KvCacheSize.BLOCK_SIZE, kvSize().blocks());
        if (!speculation.methods().isEmpty()) {
            cache.setZipTreeNodes(speculation.maxDraft()); // a verify step's nodes are staged until accepted
        }
        if (warmupNanos > 0) {
            warmup = Warmup.run(model, transformer, cache, cfg, warmupNanos);
        }
        KvTier tier = null;
        if (kvStore != null) {
            if (!prefixCaching) {
                throw new IllegalArgumentException("a shared KV store needs the prefix cache (it is off)");
            }
            // fetched blocks wait in memory with their requests until admission: at most a quarter of the heap, 1 GiB
            long cap = Math.min(1L << 30, Runtime.getRuntime().maxMemory() / 4);
            tier = new KvTier(kvStore, ModelFingerprint.of(model.file()), cache, kvStorePrefix, 5000, cap).withHandoff(handoff);
        }
        return new InferenceEngine(model, transformer, cache, cfg, listener, speculation, sparse, null, tier);
    }
}
