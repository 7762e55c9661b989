package io.stride.core.spec;

import io.stride.core.engine.GenerationParams;
import io.stride.core.engine.GenerationResult;
import io.stride.core.engine.TokenEmitter;
import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.sampling.Sampler;
import io.stride.core.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Speculative decoding of one sequence: before each step the drafter proposes a token tree, one forward pass
 * scores the last committed token and every node under a tree attention mask, the {@link TreeVerifier} keeps
 * the longest acceptable path plus a bonus token, and the keys and values of the kept nodes are moved next to
 * the committed context (the rest are dropped, nothing is recomputed). The draft size adapts per step
 * ({@link SpeculationController}). Greedy outputs are exactly those of plain decoding (the forward pass is
 * batch-invariant); sampled outputs have exactly the target's distribution.
 */
public final class SpeculativeGenerator {
    /** Totals of a run: verify steps, drafted tree nodes and accepted drafted tokens. */
    public record Stats(long steps, long drafted, long accepted) {
        public double acceptedPerStep() {
            return steps == 0 ? 0 : accepted / (double) steps;
        }
    }

    private final Model model;
    private final Transformer transformer;
    private final PagedKvCache cache;
    private final int contextLength;
    private final DraftMethod method;
    private final int maxDraft;
    private final boolean adaptive;
    private final StepCostModel costModel = new StepCostModel(0.05);
    private final Batch batch = new Batch();
    private final DraftTree tree = new DraftTree();
    private final TreeVerifier verifier;
    private final float[] logits;
    private final float[] hidden;
    private Stats lastStats = new Stats(0, 0, 0);

    /**
     * @param maxDraft most drafted nodes per verify step
     * @param adaptive adapt the draft size to acceptance and measured step cost (off: always ask for maxDraft)
     */
    public SpeculativeGenerator(Model model, Transformer transformer, PagedKvCache cache, int contextLength, DraftMethod method,
                                int maxDraft, boolean adaptive) {
        if (maxDraft < 1 || maxDraft > 64) {
            throw new IllegalArgumentException("--spec-max must be between 1 and 64, got " + maxDraft);
        }
        this.model = model;
        this.transformer = transformer;
        this.cache = cache;
        this.contextLength = contextLength;
        this.method = method;
        this.maxDraft = maxDraft;
        this.adaptive = adaptive;
        this.verifier = new TreeVerifier(model.config().vocab());
        this.logits = new float[(maxDraft + 1) * model.config().vocab()];
        this.hidden = new float[model.config().dim()];
    }

    public Stats lastStats() {
        return lastStats;
    }

    /** KV positions a request of {@code total} tokens needs with this generator (the draft needs room too). */
    public int kvPositions(int total) {
        return total + maxDraft + 1;
    }

    public GenerationResult generate(int[] prompt, GenerationParams params, Consumer<String> onText) {
        if (prompt.length == 0 || prompt.length >= contextLength) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens does not fit the context of " + contextLength);
        }
        Tokenizer tok = model.tokenizer();
        int vocab = model.config().vocab();
        int limit = Math.min(contextLength, prompt.length + params.maxTokens());
        KvSequence seq = cache.newSequence();
        if (!cache.reserve(seq, kvPositions(limit))) {
            throw new IllegalStateException("KV cache too small for " + kvPositions(limit) + " positions");
        }
        long steps = 0, drafted = 0, accepted = 0;
        SpeculationController controller = new SpeculationController(maxDraft, adaptive);
        try (Drafter drafter = method.open(prompt, params.sampling())) {
            int[] history = Arrays.copyOf(prompt, limit + maxDraft + 1);
            long t0 = System.nanoTime();
            for (int start = 0; start < prompt.length - 1; start += params.prefillChunk()) {
                int end = Math.min(prompt.length - 1, start + params.prefillChunk());
                batch.clear();
                for (int i = start; i < end; i++) batch.add(prompt[i], i, seq, false);
                transformer.forward(batch, cache, logits);
            }
            long t1 = System.nanoTime();
            Sampler sampler = new Sampler(params.sampling(), vocab);
            TokenEmitter emitter = new TokenEmitter(tok, params, history, prompt.length, contextLength, onText);
            boolean haveHidden = false;
            // invariant: history[0 .. len) is committed; positions [0, len - 1) are in the cache
            while (!emitter.finished()) {
                int len = emitter.length();
                int room = Math.min(maxDraft, limit - len - 1);
                int k = controller.draft(drafter, method, history, len, room, tree, haveHidden ? hidden : null, costModel, 1);
                batch.clear();
                batch.add(history[len - 1], len - 1, seq, true);
                for (int i = 0; i < k; i++) {
                    int parent = tree.parent(i) == DraftTree.ROOT ? 0 : tree.parent(i) + 1;
                    batch.addTreeNode(tree.token(i), len + i, len - 1 + tree.depth(i), seq, true, parent);
                }
                long f0 = System.nanoTime();
                transformer.forward(batch, cache, logits);
                costModel.record(batch.size(), System.nanoTime() - f0);
                steps++;
                drafted += k;
                int count = verifier.verify(tree, logits, 0, sampler, history, len);
                controller.record(tree.maxDepth(), count - 1);
                accepted += count - 1;
                if (method.needsHidden()) {
                    System.arraycopy(transformer.lastHidden(), verifier.row(count - 1) * hidden.length, hidden, 0, hidden.length);
                    haveHidden = true;
                }
                // keep the accepted nodes' keys and values, moved next to the committed context
                for (int j = 0; j < count - 1; j++) {
                    cache.move(seq, len + verifier.node(j), len + j);
                }
                for (int j = 0; j < count && emitter.accept(verifier.token(j)); j++) {
                    // committed
                }
                // the last committed token is fed (as the next root) in the next step
                cache.truncate(seq, emitter.length() - 1);
                cache.reserve(seq, kvPositions(limit));
            }
            drafter.finish(history, emitter.length());
            lastStats = new Stats(steps, drafted, accepted);
            return emitter.result(t1 - t0, System.nanoTime() - t1);
        } finally {
            cache.release(seq);
        }
    }
}
