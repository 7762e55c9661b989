package io.stride.core.engine;

import io.stride.core.kv.PagedKvCache;
import io.stride.core.kv.PrefixCache;
import io.stride.core.kv.tier.KvTier;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.sparse.SparseAttention;
import io.stride.core.spec.DraftMethod;
import io.stride.core.spec.StepCostModel;
import io.stride.core.tokenizer.StreamingDecoder;
import io.stride.core.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The serving engine: one thread runs steps of continuous batching over a shared paged KV cache. Requests
 * arrive from any thread ({@link #submit}), join at the next step and leave as soon as they finish; output
 * goes to each request's {@link TokenSink}. Every sequence's tokens are computed with batch-invariant kernels,
 * so what a request generates does not depend on the other requests in flight.
 */
public final class InferenceEngine implements AutoCloseable {
    /** Thrown by {@link #submit} when the waiting queue is full. */
    public static final class QueueFullException extends RuntimeException {
        public QueueFullException(String m) {
            super(m);
        }
    }

    /** Lets the submitter cancel a request (e.g. when its client disconnects). */
    public interface Handle {
        void cancel();
    }

    private final Model model;
    private final Transformer transformer;
    private final PagedKvCache cache;
    private final PrefixCache prefixCache;
    private final EngineConfig config;
    private final EngineListener listener;
    private final Scheduler scheduler;
    private final ConcurrentLinkedQueue<Sequence> inbox = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicInteger runningCount = new AtomicInteger();
    private final Batch batch = new Batch();
    private final List<Scheduler.Slot> slots = new ArrayList<>();
    private final StepExecutor steps;
    private final Thread thread;
    private final SpeculationConfig speculation;
    /** the sparse attention of requests that do not name one (null: dense) */
    private final SparseAttention sparseDefault;
    /** the loop of a diffusion model (null: next-token generation) */
    private final DiffusionRunner diffusion;
    /** the shared KV tier (null: none) */
    private final TierLink tier;
    private volatile boolean closed;
    private volatile Throwable death;
    private volatile int freeBlocks;
    private volatile int usedBlocks, freeKeyBlocks;

    public InferenceEngine(Model model, Transformer transformer, PagedKvCache cache, EngineConfig config, EngineListener listener) {
        this(model, transformer, cache, config, listener, SpeculationConfig.NONE);
    }

    public InferenceEngine(Model model, Transformer transformer, PagedKvCache cache, EngineConfig config, EngineListener listener,
                           SpeculationConfig speculation) {
        this(model, transformer, cache, config, listener, speculation, null);
    }

    /** {@code sparse}: the sparse attention of requests that name none (null: dense); checked against the model here. */
    public InferenceEngine(Model model, Transformer transformer, PagedKvCache cache, EngineConfig config, EngineListener listener,
                           SpeculationConfig speculation, SparseAttention sparse) {
        this(model, transformer, cache, config, listener, speculation, sparse, null, null);
    }

    /** {@code diffusion}: how a diffusion model decodes (its requests then run one at a time; see {@link DiffusionRunner}). */
    InferenceEngine(Model model, Transformer transformer, PagedKvCache cache, EngineConfig config, EngineListener listener,
                    SpeculationConfig speculation, SparseAttention sparse, DiffusionRunner diffusion, KvTier tier) {
        this.model = model;
        this.diffusion = diffusion;
        this.sparseDefault = sparse == null ? null : sparse.forLayers(model.config().layers(), model.config().kvDimK());
        this.speculation = speculation;
        this.transformer = transformer;
        this.cache = cache;
        this.config = config;
        this.listener = listener == null ? new EngineListener() {} : listener;
        this.prefixCache = config.prefixCaching() ? new PrefixCache(cache, this.listener) : null;
        int specCap = speculation.methods().isEmpty() ? 0
                : Math.max(speculation.maxDraft(), Math.min(speculation.maxDraft() * config.maxSequences(), 64));
        StepCostModel costModel = new StepCostModel(0.05);
        this.scheduler = new Scheduler(config, cache, prefixCache, this.listener, costModel, specCap);
        this.steps = new StepExecutor(model, transformer, cache, prefixCache, scheduler, this.listener, config.contextLength(),
                config.maxSequences() + 1 + specCap, costModel, config.jumpForward() && config.chunkedPrefill());
        this.tier = tier == null ? null : new TierLink(tier, cache, prefixCache);
        scheduler.tier = this.tier;
        steps.tier = this.tier;
        updateGauges();
        this.thread = Thread.ofPlatform().name("stride-engine").daemon(true).start(this::loop);
    }

    public EngineConfig config() {
        return config;
    }

    public Model model() {
        return model;
    }

    /**
     * Queues a request. Throws {@link IllegalArgumentException} when it is invalid or can never fit (context,
     * KV cache, unknown drafter), {@link QueueFullException} when the queue is full and
     * {@link IllegalStateException} when the engine is shut down or dead. Admission is one transaction: the
     * request takes its queue slot only after every check passed, and nothing is held when this throws.
     */
    public Handle submit(EngineRequest r) {
        checkAlive();
        RequestChecks.check(r, config, cache, model, diffusion != null);
        if (diffusion != null) {
            diffusion.check(r);
        }
        // constrained requests are drafted for too: their drafts are cut to the grammar before verification
        DraftMethod method = r.pooling() != null || diffusion != null ? null : speculation.resolve(r.speculation());
        SparseAttention sparse = r.pooling() != null || diffusion != null ? null : sparseAttention(r.sparseAttention());
        if (cache.config().zipped() && sparse != null) {
            throw new UnsupportedFieldException("sparse_attention", "sparse attention is not supported with this server's zip KV cache");
        }
        Tokenizer tok = model.tokenizer();
        Sequence s = new Sequence(r, model.config().vocab(), config.contextLength(), new StreamingDecoder(tok));
        s.draftMethod = method;
        s.sparse = sparse;
        s.maxDraft = speculation.maxDraft();
        s.adaptiveDraft = speculation.adaptive();
        if (method != null && method.needsHidden()) {
            s.hidden = new float[model.config().dim()];
        }
        if (config.repetitionWindow() > 0) {
            s.guard = new RepetitionGuard(config.repetitionWindow());
        }
        if (r.pooling() != null) {
            s.pooled = new double[model.config().dim()];
        }
        if (queued.incrementAndGet() > config.maxQueue()) {
            queued.decrementAndGet();
            throw new QueueFullException("too many requests waiting (" + config.maxQueue() + "); try again later");
        }
        if (tier != null) {
            tier.prepare(s, () -> enqueue(s));
        } else {
            enqueue(s);
        }
        return () -> {
            s.cancelled = true;
            LockSupport.unpark(thread);
        };
    }

    private void enqueue(Sequence s) {
        inbox.add(s);
        LockSupport.unpark(thread);
        if (closed || !thread.isAlive()) {
            // the loop may have ended between the check above and the add: fail what it will never take
            failInbox(new IllegalStateException(closed ? "engine is shut down" : "engine thread died"));
        }
    }

    /** The shared KV tier's counters (null: none). */
    public KvTier kvTier() {
        return tier == null ? null : tier.tier();
    }

    /** The sparse attention a request asks for ({@code spec} null: the engine's default), resolved for the model. */
    public SparseAttention sparseAttention(String spec) {
        if (spec == null) {
            return sparseDefault;
        }
        SparseAttention sa = SparseAttention.parse(spec);
        return sa == null ? null : sa.forLayers(model.config().layers(), model.config().kvDimK());
    }

    private void checkAlive() {
        if (closed) {
            throw new IllegalStateException("engine is shut down");
        }
        if (!thread.isAlive()) {
            throw new IllegalStateException("engine thread died" + (death == null ? "" : ": " + death));
        }
    }

    /** Whether the engine thread is running and accepting requests. */
    public boolean alive() {
        return !closed && thread.isAlive();
    }

    /** Why the engine thread died, or null. */
    public Throwable failure() {
        return death;
    }

    /**
     * Generates for {@code prompt} and waits for the end: the synchronous form of {@link #submit} (see
     * {@link SyncGeneration}). {@code maxTokens} is cut to what the context leaves; {@code speculation} as in
     * {@link EngineRequest}. Text goes to {@code onText} as it becomes final.
     */
    public GenerationResult generate(int[] prompt, GenerationParams params, String speculation, java.util.function.Consumer<String> onText)
            throws InterruptedException {
        return SyncGeneration.run(this, "gen-" + GENERATIONS.incrementAndGet(), prompt, params, speculation, onText);
    }

    private static final java.util.concurrent.atomic.AtomicLong GENERATIONS = new java.util.concurrent.atomic.AtomicLong();
    public int waitingCount() {
        return queued.get();
    }

    public int runningCount() {
        return runningCount.get();
    }

    public int freeBlocks() {
        return freeBlocks;
    }

    public int usedBlocks() {
        return usedBlocks;
    }

    public int totalBlocks() {
        return cache.allocator().capacity();
    }

    /** Bytes of one KV block (keys and values of every layer, in the cache's types). */
    public long kvBytesPerBlock() {
        return cache.bytesPerBlock();
    }

    /** The cache's key and value types, and its key share. */
    public io.stride.core.kv.KvCacheConfig kvConfig() {
        return cache.config();
    }

    /** Key blocks no block holds (of the key pool, {@link io.stride.core.kv.KvCacheConfig#keyBlocks} of the blocks). */
    public int freeKeyBlocks() {
        return freeKeyBlocks;
    }

    public long preemptions() {
        return scheduler.preemptions();
    }

    private void loop() {
        try {
            while (!closed) {
                try {
                    drainInbox();
                    dropCancelled();
                    if (diffusion != null) {
                        runDiffusion();
                        continue;
                    }
                    scheduler.plan(batch, slots);
                    runningCount.set(scheduler.running.size());
                    if (slots.isEmpty()) {
                        updateGauges();
                        LockSupport.parkNanos(this, 50_000_000L);
                        continue;
                    }
                    step();
                    updateGauges();
                } catch (RuntimeException | Error e) {
                    failBatch(e);
                }
            }
        } catch (Throwable t) {
            death = t;
        } finally {
            RuntimeException err = new IllegalStateException(closed ? "server shutting down"
                    : "engine thread died: " + death);
            for (Sequence s : List.copyOf(scheduler.running)) {
                scheduler.retire(s);
                s.closeDrafter();
                s.request.sink().onError(err);
            }
            drainInbox();
            for (Sequence s : scheduler.waiting) {
                leaveQueue(s);
                s.request.sink().onError(err);
            }
            scheduler.waiting.clear();
            updateGauges();
        }
    }

    /** Fails sequences left in the inbox after the loop ended. */
    private void failInbox(RuntimeException err) {
        Sequence s;
        while ((s = inbox.poll()) != null) {
            leaveQueue(s);
            s.request.sink().onError(err);
        }
    }

    /** The sequence no longer waits (started, cancelled, failed): its queue slot is given back, once. */
    private void leaveQueue(Sequence s) {
        if (!s.queuedReported) {
            s.queuedReported = true;
            queued.decrementAndGet();
        }
    }

    private void updateGauges() {
        freeBlocks = cache.allocator().freeCount();
        usedBlocks = cache.allocator().usedCount();
        freeKeyBlocks = cache.allocator().freeKeyCount();
        runningCount.set(scheduler.running.size());
    }

    private void drainInbox() {
        Sequence s;
        while ((s = inbox.poll()) != null) {
            scheduler.waiting.addLast(s);
        }
    }

    private void dropCancelled() {
        for (Iterator<Sequence> it = scheduler.running.iterator(); it.hasNext(); ) {
            Sequence s = it.next();
            if (s.cancelled) {
                it.remove();
                scheduler.retire(s);
                s.end(FinishReason.CANCELLED, System.nanoTime(), listener);
            }
        }
        for (Iterator<Sequence> it = scheduler.waiting.iterator(); it.hasNext(); ) {
            Sequence s = it.next();
            if (s.cancelled) {
                it.remove();
                leaveQueue(s);
                s.end(FinishReason.CANCELLED, System.nanoTime(), listener);
            }
        }
    }

    private void step() {
        for (Scheduler.Slot slot : slots) {
            Sequence s = slot.seq();
            if (!s.queuedReported) {
                leaveQueue(s);
                listener.queued(s.id(), (s.startNanos - s.arrivalNanos) / 1e9);
            }
        }
        steps.run(batch, slots);
    }

    /** A diffusion model's step: the oldest waiting request, decoded to its end (or parks when none waits). */
    private void runDiffusion() {
        Sequence s = scheduler.waiting.pollFirst();
        if (s == null) {
            LockSupport.parkNanos(this, 50_000_000L);
            return;
        }
        leaveQueue(s);
        runningCount.set(1);
        diffusion.run(s, listener);
        runningCount.set(0);
    }

    /** A step failed: fail its sequences (not the engine) and go on with the rest. */
    private void failBatch(Throwable e) {
        RuntimeException err = e instanceof RuntimeException re ? re : new IllegalStateException("engine step failed: " + e, e);
        for (Scheduler.Slot slot : slots) {
            Sequence s = slot.seq();
            leaveQueue(s);
            if (scheduler.running.contains(s)) {
                scheduler.retire(s);
                s.closeDrafter();
                s.request.sink().onError(err);
            }
        }
        slots.clear();
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (tier != null) {
            tier.close();
        }
    }
}
