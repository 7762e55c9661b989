package io.stride.core.engine;

import io.stride.core.grammar.GrammarMatcher;
import io.stride.core.kv.KvSequence;
import io.stride.core.sampling.Sampler;
import io.stride.core.sparse.SparseAttention;
import io.stride.core.spec.DraftMethod;
import io.stride.core.spec.DraftTree;
import io.stride.core.spec.Drafter;
import io.stride.core.spec.SpeculationController;
import io.stride.core.tokenizer.StreamingDecoder;

import java.util.Arrays;

/**
 * One request's state inside the engine: its tokens (prompt, then generated), how many of them have their
 * keys and values in the cache, the block table, sampler and detokenizer.
 */
final class Sequence {
    enum State { WAITING, RUNNING, FINISHED }

    final EngineRequest request;
    final long arrivalNanos;
    final Sampler sampler;
    final StreamingDecoder decoder;
    final StopMatcher stops;
    final int promptLength;
    int[] tokens;
    int length;
    /** tokens whose keys and values are in the cache */
    int computed;
    /** prefix-cache chain hashes of the full blocks of tokens[0 .. hashedBlocks * blockSize) */
    long[] blockHashes = new long[8];
    int hashedBlocks;
    /** shared KV tier: records fetched for prompt blocks fetchedFrom.. (until admission), the prompt's chains, how many
     *  blocks came from the tier, and the check chain of blocks [0, checked) for publishing */
    io.stride.core.kv.tier.KvTier.Fetched fetched;
    int fetchedFrom;
    io.stride.core.kv.tier.PromptChains tierChains;
    int tierBlocks;
    /** positions of the partial block installed from the tier at admission (0: none), and whether one ever was */
    int tailLength;
    boolean tailFromTier;
    /** prompt blocks held locally that the store lacked when the request arrived (published again at admission) */
    int[] republish;
    long[] checks;
    int checked;
    KvSequence kv;
    State state = State.WAITING;
    long firstTokenNanos;
    long lastTokenNanos;
    long startNanos;
    int cachedPromptTokens;
    volatile boolean cancelled;
    /** sparse attention of the decode steps, resolved for the model (null: dense) */
    SparseAttention sparse;
    /** speculative decoding (null: off) */
    DraftMethod draftMethod;
    int maxDraft;
    boolean adaptiveDraft = true;
    Drafter drafter;
    SpeculationController controller;
    final DraftTree tree = new DraftTree();
    float[] hidden;
    /** the output's grammar state and the allowed-token bits of the next step (null: unconstrained) */
    final GrammarMatcher grammar;
    final long[] allowed;
    /** ends the sequence when its output loops (null: off) */
    RepetitionGuard guard;
    boolean haveHidden;
    boolean queuedReported;
    /** embedding requests: the sum (MEAN) or the last (LAST) of the final hidden states computed so far */
    double[] pooled;
    int pooledRows;

    boolean embedding() {
        return pooled != null;
    }

    Sequence(EngineRequest request, int vocab, int contextLength, StreamingDecoder decoder) {
        this.request = request;
        this.arrivalNanos = System.nanoTime();
        this.sampler = new Sampler(request.params().sampling(), vocab);
        this.decoder = decoder;
        this.stops = new StopMatcher(request.params().stop());
        this.promptLength = request.prompt().length;
        this.tokens = Arrays.copyOf(request.prompt(), Math.min(contextLength, request.prompt().length + request.params().maxTokens()) + 1);
        this.length = request.prompt().length;
        this.grammar = request.params().grammar() == null ? null : request.params().grammar().matcher();
        this.allowed = grammar == null ? null : new long[(vocab + 63) >>> 6];
    }

    /** grammar state after each node of the draft tree (constrained sequences), index = node */
    GrammarMatcher[] draftStates = new GrammarMatcher[0];

    /**
     * Cuts the draft tree to what the grammar allows: a node stays when its token is allowed after its parent's
     * path (end-of-generation tokens where the text can end), so only drafts the constrained sampler could choose
     * are verified; {@link #draftStates} then holds each kept node's state, for the verifier's masks.
     */
    void cutDraftToGrammar() {
        int n = tree.size();
        if (grammar == null || n == 0) return;
        GrammarMatcher[] states = new GrammarMatcher[n];
        boolean[] keep = new boolean[n];
        for (int i = 0; i < n; i++) {
            int p = tree.parent(i);
            GrammarMatcher from = p == DraftTree.ROOT ? grammar : states[p];
            if (from == null) continue;
            GrammarMatcher m = from.copy();
            if (m.accept(tree.token(i))) {
                keep[i] = true;
                states[i] = m;
            }
        }
        int kept = tree.retain(keep);
        if (draftStates.length < kept) draftStates = new GrammarMatcher[Math.max(kept, 2 * draftStates.length)];
        int k = 0;
        for (int i = 0; i < n; i++) if (keep[i] && states[i] != null && k < kept) draftStates[k++] = states[i];
    }

    /** The tokens the grammar allows next (null: any), computed for this step. */
    long[] allowedTokens() {
        if (grammar == null) return null;
        grammar.fillMask(allowed);
        return allowed;
    }

    int generated() {
        return length - promptLength;
    }

    /** Tokens still to be fed before the next logits: the unprocessed prompt (or recompute) part plus the last token. */
    int pending() {
        return length - computed;
    }

    void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[length++] = token;
    }

    void recordHash(long h) {
        if (hashedBlocks == blockHashes.length) {
            blockHashes = Arrays.copyOf(blockHashes, blockHashes.length * 2);
        }
        blockHashes[hashedBlocks++] = h;
    }

    /** Opens the drafter on first admission (engine thread). */
    void openDrafter() {
        if (draftMethod != null && drafter == null && controller == null) {
            drafter = draftMethod.open(request.prompt(), request.params().sampling());
            controller = new SpeculationController(maxDraft, adaptiveDraft);
        }
    }

    /** Ends the drafter's work for this request (its global statistics learn from the output). */
    void closeDrafter() {
        if (drafter != null) {
            try {
                drafter.finish(tokens, length);
            } finally {
                drafter.close();
                drafter = null;
            }
        }
    }

    String id() {
        return request.id();
    }

    /** Speculation totals of this request: verify steps, drafted tree nodes, accepted drafted tokens. */
    long specSteps;
    long specDrafted;
    long specAccepted;

    /**
     * Reports the end: flushes held-back text (unless a stop string ended it), tells the listener and the sink.
     * The caller has already taken the sequence out of the scheduler and given back its blocks.
     */
    void end(FinishReason reason, long now, EngineListener listener) {
        String trailing = reason == FinishReason.CANCELLED || stops.stopped() ? "" : stops.accept(decoder.flush()) + stops.flush();
        closeDrafter();
        state = State.FINISHED;
        listener.finished(id(), reason, promptLength, generated(), (now - arrivalNanos) / 1e9,
                firstTokenNanos == 0 ? Double.NaN : (firstTokenNanos - arrivalNanos) / 1e9, cachedPromptTokens);
        request.sink().onFinish(new Finished(reason, promptLength, generated(), cachedPromptTokens, trailing,
                reason == FinishReason.STOP ? stops.matched() : null, new Finished.Speculation(specSteps, specDrafted, specAccepted)));
    }
}
