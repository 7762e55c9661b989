package io.stride.core.engine;

import io.stride.core.kv.PagedKvCache;
import io.stride.core.kv.PrefixCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.spec.DraftMethod;
import io.stride.core.spec.DraftTree;
import io.stride.core.spec.StepCostModel;
import io.stride.core.spec.TreeVerifier;
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
    private final float[] logits;
    private final float[] hiddenRow;
    private final Thread thread;
    private final SpeculationConfig speculation;
    private final TreeVerifier verifier;
    private final StepCostModel costModel = new StepCostModel(0.05);
    private volatile boolean closed;
    private volatile Throwable death;
    private volatile int freeBlocks;
    private volatile int usedBlocks;

    public InferenceEngine(Model model, Transformer transformer, PagedKvCache cache, EngineConfig config, EngineListener listener) {
        this(model, transformer, cache, config, listener, SpeculationConfig.NONE);
    }

    public InferenceEngine(Model model, Transformer transformer, PagedKvCache cache, EngineConfig config, EngineListener listener,
                           SpeculationConfig speculation) {
        this.model = model;
        this.speculation = speculation;
        this.verifier = new TreeVerifier(model.config().vocab());
        this.transformer = transformer;
        this.cache = cache;
        this.config = config;
        this.listener = listener == null ? new EngineListener() {} : listener;
        this.prefixCache = config.prefixCaching() ? new PrefixCache(cache) : null;
        int specCap = speculation.methods().isEmpty() ? 0
                : Math.max(speculation.maxDraft(), Math.min(speculation.maxDraft() * config.maxSequences(), 64));
        this.scheduler = new Scheduler(config, cache, prefixCache, this.listener, costModel, specCap);
        this.logits = new float[(config.maxSequences() + 1 + specCap) * model.config().vocab()];
        this.hiddenRow = new float[model.config().dim()];
        this.freeBlocks = cache.allocator().freeCount();
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
        int total = r.prompt().length + r.params().maxTokens();
        if (r.pooling() != null) {
            if (r.prompt().length > config.contextLength()) {
                throw new IllegalArgumentException("the input has " + r.prompt().length + " tokens; the context holds "
                        + config.contextLength());
            }
        } else if (r.prompt().length >= config.contextLength()) {
            throw new IllegalArgumentException("the prompt has " + r.prompt().length + " tokens; the context holds "
                    + config.contextLength() + " and at least one must remain for the completion");
        }
        if (total > config.contextLength()) {
            throw new IllegalArgumentException("prompt (" + r.prompt().length + " tokens) plus max_tokens (" + r.params().maxTokens()
                    + ") exceeds the context length of " + config.contextLength() + " tokens");
        }
        if (cache.blocksFor(total) > cache.allocator().capacity()) {
            throw new IllegalArgumentException("the request needs " + cache.blocksFor(total) + " KV blocks but the cache has only "
                    + cache.allocator().capacity());
        }
        for (int t : r.prompt()) {
            if (t < 0 || t >= model.config().vocab()) {
                throw new IllegalArgumentException("token id " + t + " outside the vocabulary [0, " + model.config().vocab() + ")");
            }
        }
        DraftMethod method = r.pooling() != null ? null : speculation.resolve(r.speculation());
        Tokenizer tok = model.tokenizer();
        Sequence s = new Sequence(r, model.config().vocab(), config.contextLength(), new StreamingDecoder(tok));
        s.draftMethod = method;
        s.maxDraft = speculation.maxDraft();
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
        inbox.add(s);
        LockSupport.unpark(thread);
        if (closed || !thread.isAlive()) {
            // the loop may have ended between the check above and the add: fail what it will never take
            failInbox(new IllegalStateException(closed ? "engine is shut down" : "engine thread died"));
        }
        return () -> {
            s.cancelled = true;
            LockSupport.unpark(thread);
        };
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

    public long preemptions() {
        return scheduler.preemptions();
    }

    private void loop() {
        try {
            while (!closed) {
                try {
                    drainInbox();
                    dropCancelled();
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
                scheduler.running.remove(s);
                release(s);
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
                release(s);
                reportCancelled(s);
            }
        }
        for (Iterator<Sequence> it = scheduler.waiting.iterator(); it.hasNext(); ) {
            Sequence s = it.next();
            if (s.cancelled) {
                it.remove();
                leaveQueue(s);
                reportCancelled(s);
            }
        }
    }

    private void reportCancelled(Sequence s) {
        s.closeDrafter();
        long now = System.nanoTime();
        s.state = Sequence.State.FINISHED;
        listener.finished(s.id(), FinishReason.CANCELLED, s.promptLength, s.generated(), (now - s.arrivalNanos) / 1e9,
                s.firstTokenNanos == 0 ? Double.NaN : (s.firstTokenNanos - s.arrivalNanos) / 1e9, s.cachedPromptTokens);
        s.request.sink().onFinish(new Finished(FinishReason.CANCELLED, s.promptLength, s.generated(), s.cachedPromptTokens, "", null));
    }

    private void step() {
        long t0 = System.nanoTime();
        for (Scheduler.Slot slot : slots) {
            Sequence s = slot.seq();
            if (!s.queuedReported) {
                leaveQueue(s);
                listener.queued(s.id(), (s.startNanos - s.arrivalNanos) / 1e9);
            }
        }
        transformer.forward(batch, cache, logits);
        long t1 = System.nanoTime();
        costModel.record(batch.size(), t1 - t0);
        listener.stepCompleted(batch.size(), (t1 - t0) / 1e9);
        int row = 0;
        int batchRow = 0;
        int vocab = model.config().vocab();
        for (Scheduler.Slot slot : slots) {
            Sequence s = slot.seq();
            int fed = slot.to() - slot.from();
            int firstRow = batchRow;
            batchRow += fed + slot.drafted();
            if (slot.from() < s.promptLength) {
                listener.promptTokens(Math.min(slot.to(), s.promptLength) - slot.from());
            }
            if (s.embedding()) {
                pool(s, firstRow, slot.from(), slot.to());
                s.computed = slot.to();
                if (s.computed == s.promptLength) {
                    finishEmbedding(s, t1);
                }
                continue;
            }
            s.computed = slot.to();
            registerFullBlocks(s);
            if (slot.sample()) {
                if (slot.drafted() > 0) {
                    verify(s, row, slot.from(), t1);
                } else {
                    if (s.hidden != null) {
                        keepHidden(s, row);
                    }
                    sample(s, row * vocab, t1);
                }
                row += 1 + slot.drafted();
            }
            if (fed <= 0) {
                throw new IllegalStateException("empty slot");
            }
        }
    }

    /** Adds the final hidden states of positions [from, to), batch rows from {@code firstRow}, to an embedding's pool. */
    private void pool(Sequence s, int firstRow, int from, int to) {
        float[] h = hiddenRow;
        for (int p = from; p < to; p++) {
            transformer.finalHidden(firstRow + p - from, h, 0);
            if (s.request.pooling() == Pooling.LAST) {
                for (int j = 0; j < h.length; j++) s.pooled[j] = h[j];
            } else {
                for (int j = 0; j < h.length; j++) s.pooled[j] += h[j];
            }
            s.pooledRows++;
        }
    }

    /** The embedding is complete: scale the pooled state to unit length, hand it over and end the sequence. */
    private void finishEmbedding(Sequence s, long now) {
        int dim = s.pooled.length;
        double scale = s.request.pooling() == Pooling.MEAN ? 1.0 / s.pooledRows : 1.0;
        double norm = 0;
        for (int j = 0; j < dim; j++) {
            double v = s.pooled[j] * scale;
            norm += v * v;
        }
        double unit = norm > 0 ? scale / Math.sqrt(norm) : 0;
        float[] v = new float[dim];
        for (int j = 0; j < dim; j++) {
            v[j] = (float) (s.pooled[j] * unit);
        }
        s.request.sink().onEmbedding(v);
        finish(s, FinishReason.STOP, now);
    }

    private void registerFullBlocks(Sequence s) {
        if (prefixCache == null) {
            return;
        }
        int bs = cache.blockSize();
        while ((s.hashedBlocks + 1) * bs <= s.computed) {
            int i = s.hashedBlocks;
            long parent = i == 0 ? 0 : s.blockHashes[i - 1];
            long h = PrefixCache.blockHash(parent, s.tokens, i * bs, bs, s.request.cacheSalt());
            prefixCache.register(s.kv.block(i), h, parent, s.tokens, i * bs);
            s.recordHash(h);
        }
    }

    private void keepHidden(Sequence s, int row) {
        int dim = s.hidden.length;
        System.arraycopy(transformer.lastHidden(), row * dim, s.hidden, 0, dim);
        s.haveHidden = true;
    }

    /**
     * A speculative step of {@code s}: its root token (at {@code rootPos}) had logits row {@code row}, its tree nodes
     * the rows after it. Commits the accepted path and the bonus token, keeps their keys and values, drops the rest.
     */
    private void verify(Sequence s, int row, int rootPos, long now) {
        int vocab = model.config().vocab();
        DraftTree tree = s.tree;
        int count = verifier.verify(tree, logits, row * vocab, s.sampler, s.tokens, s.length);
        s.controller.record(tree.maxDepth(), count - 1);
        listener.speculated(s.draftMethod.name(), tree.size(), count - 1);
        if (s.hidden != null) {
            keepHidden(s, row + verifier.row(count - 1));
        }
        for (int j = 0; j < count - 1; j++) {
            cache.move(s.kv, rootPos + 1 + verifier.node(j), rootPos + 1 + j);
        }
        tree.clear();
        for (int j = 0; j < count; j++) {
            if (!emit(s, verifier.token(j), (row + verifier.row(j)) * vocab, now)) {
                return; // finished
            }
        }
        s.computed = rootPos + count;
        cache.truncate(s.kv, s.computed);
    }

    private void sample(Sequence s, int off, long now) {
        emit(s, s.sampler.sample(logits, off, s.tokens, s.length), off, now);
    }

    /** Commits token {@code next}, chosen from the logits at {@code off}; returns false when the sequence finished. */
    private boolean emit(Sequence s, int next, int off, long now) {
        EngineRequest r = s.request;
        float lp = Float.NaN;
        List<TokenEvent.TopLogprob> top = List.of();
        if (r.topLogprobs() >= 0) {
            float[] lse = {0};
            lp = Logprobs.logprob(logits, off, model.config().vocab(), next, lse);
            top = Logprobs.top(logits, off, model.config().vocab(), r.topLogprobs(), lse[0]);
        }
        if (model.tokenizer().vocabulary().isEndOfGeneration(next)) {
            finish(s, FinishReason.STOP, now);
            return false;
        }
        s.append(next);
        listener.generatedTokens(1);
        if (s.firstTokenNanos == 0) {
            s.firstTokenNanos = now;
            listener.firstToken(s.id(), (now - s.arrivalNanos) / 1e9);
        } else {
            listener.interTokenLatency((now - s.lastTokenNanos) / 1e9);
        }
        s.lastTokenNanos = now;
        String text = s.stops.accept(s.decoder.next(next));
        r.sink().onToken(new TokenEvent(next, text, lp, top));
        if (s.stops.stopped()) {
            finish(s, FinishReason.STOP, now);
            return false;
        } else if (s.guard != null && s.guard.accept(next)) {
            finish(s, FinishReason.REPETITION, now);
            return false;
        } else if (s.generated() >= r.params().maxTokens() || s.length >= config.contextLength()) {
            finish(s, FinishReason.LENGTH, now);
            return false;
        }
        return true;
    }

    private void finish(Sequence s, FinishReason reason, long now) {
        String trailing = s.stops.stopped() ? "" : s.stops.accept(s.decoder.flush()) + s.stops.flush();
        scheduler.running.remove(s);
        release(s);
        s.state = Sequence.State.FINISHED;
        listener.finished(s.id(), reason, s.promptLength, s.generated(), (now - s.arrivalNanos) / 1e9,
                s.firstTokenNanos == 0 ? Double.NaN : (s.firstTokenNanos - s.arrivalNanos) / 1e9, s.cachedPromptTokens);
        s.request.sink().onFinish(new Finished(reason, s.promptLength, s.generated(), s.cachedPromptTokens, trailing, s.stops.matched()));
    }

    private void release(Sequence s) {
        s.closeDrafter();
        if (s.kv != null) {
            cache.release(s.kv);
            s.kv = null;
        }
    }

    /** A step failed: fail its sequences (not the engine) and go on with the rest. */
    private void failBatch(Throwable e) {
        RuntimeException err = e instanceof RuntimeException re ? re : new IllegalStateException("engine step failed: " + e, e);
        for (Scheduler.Slot slot : slots) {
            Sequence s = slot.seq();
            leaveQueue(s);
            if (scheduler.running.remove(s)) {
                release(s);
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
    }
}
