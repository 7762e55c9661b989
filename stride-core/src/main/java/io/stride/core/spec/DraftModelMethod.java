package io.stride.core.spec;

import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.sampling.Sampler;
import io.stride.core.sampling.SamplingParams;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * {@code draft:MODEL.gguf}: a small model with the target's vocabulary drafts a chain token by token, keeping
 * its own paged KV cache per request (entries it computed for tokens that were then committed are kept). When
 * it has fallen far behind (speculation backed off), it restarts on the last {@value #CATCH_UP_WINDOW} tokens
 * rather than prefilling the whole context, so an occasional probe costs little.
 * Greedy: the draft's argmax, stopping early when it is unsure, plus its runner-up as an alternative first
 * token (a small top-k tree). Sampling: a chain sampled from the draft distribution q, which travels with
 * each node so the verifier can apply the Leviathan/Chen rule.
 */
public final class DraftModelMethod implements DraftMethod {
    /** Greedy drafting stops when the draft's top probability falls below this. */
    private static final float CONFIDENCE = 0.3f;
    private static final float ALTERNATIVE = 0.15f;
    /** Most tokens a draft catches up on at once; further back the draft model does not see. */
    private static final int CATCH_UP_WINDOW = 128;
    private final Model draft;
    private final Transformer transformer;
    private final PagedKvCache cache;
    private final int vocab;
    private final int contextLength;
    private final Batch batch = new Batch();
    private final float[] logits;
    private final float[] probs;
    private final int prefillChunk = 256;
    private final float temperatureScale;

    /**
     * @param maxSequences requests drafting at once (each keeps a KV sequence of up to {@code contextLength} positions)
     */
    public DraftModelMethod(Path path, Model target, WorkerPool pool, int contextLength, int maxSequences) {
        this(path, target, pool, contextLength, maxSequences, 1f);
    }

    /**
     * @param temperatureScale under sampling, the draft samples at the request's temperature times this (1: the
     *                         same distribution settings as the target)
     */
    public DraftModelMethod(Path path, Model target, WorkerPool pool, int contextLength, int maxSequences, float temperatureScale) {
        if (!(temperatureScale > 0)) {
            throw new IllegalArgumentException("draft temperature scale must be positive");
        }
        this.temperatureScale = temperatureScale;
        this.draft = Model.open(path);
        try {
            checkVocabulary(target, draft, path);
            this.vocab = draft.config().vocab();
            this.contextLength = contextLength;
            this.transformer = new Transformer(draft.requireAutoregressive("a draft model"), pool);
            int blocks = maxSequences * ((contextLength + 32 + 15) / 16);
            this.cache = transformer.newCache(io.stride.core.kv.KvCacheSize.BLOCK_SIZE, blocks);
            this.logits = new float[vocab];
            this.probs = new float[vocab];
        } catch (RuntimeException e) {
            draft.close();
            throw e;
        }
    }

    private static void checkVocabulary(Model target, Model draft, Path path) {
        var a = target.tokenizer().vocabulary();
        var b = draft.tokenizer().vocabulary();
        if (target.config().vocab() != draft.config().vocab() || a.size() != b.size()) {
            throw new IllegalArgumentException("draft model " + path + " has a vocabulary of " + draft.config().vocab()
                    + " tokens; the target has " + target.config().vocab());
        }
        for (int i = 0; i < a.size(); i++) {
            if (!a.token(i).equals(b.token(i))) {
                throw new IllegalArgumentException("draft model " + path + " has a different vocabulary (token " + i + " is '"
                        + b.token(i) + "', the target's is '" + a.token(i) + "')");
            }
        }
    }

    @Override
    public String name() {
        return "draft";
    }

    public Model model() {
        return draft;
    }

    @Override
    public Drafter open(int[] prompt, SamplingParams sampling) {
        return new Session(sampling);
    }

    @Override
    public void close() {
        draft.close();
    }

    private final class Session implements Drafter {
        private final KvSequence seq = cache.newSequence();
        private final Sampler sampler;
        private int[] fed = new int[256];
        private int fedLength;
        private int start;
        private int[] history = new int[256];

        Session(SamplingParams sampling) {
            SamplingParams p = sampling;
            if (!p.greedy()) {
                // the draft's random stream must be independent of the verifier's (same seed would correlate the
                // draft with its acceptance test and bias the output)
                long seed = p.seed() >= 0 ? (p.seed() * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L) & Long.MAX_VALUE : -1;
                p = new SamplingParams(p.temperature() * temperatureScale, p.topK(), p.topP(), p.minP(), p.repeatPenalty(),
                        p.penaltyLastN(), p.frequencyPenalty(), p.presencePenalty(), p.logitBias(), seed);
            }
            this.sampler = new Sampler(p, vocab);
        }

        @Override
        public void propose(int[] context, int length, int max, DraftTree tree, float[] hidden) {
            if (max <= 0 || length + max + 1 > contextLength) {
                return;
            }
            // the draft's position p holds context[start + p]; keep its cache for the common prefix, compute the rest
            int common = 0;
            int limit = Math.min(fedLength, length - 1 - start);
            while (common < limit && fed[common] == context[start + common]) common++;
            if (length - (start + common) > CATCH_UP_WINDOW) {
                // far behind (speculation was backed off): restart on the recent window instead of
                // prefilling everything since, so that a probe stays cheap
                start = length - CATCH_UP_WINDOW;
                common = 0;
            }
            cache.truncate(seq, common);
            fedLength = common;
            int span = length - start;
            if (!cache.reserve(seq, span + max + 1)) {
                return; // no draft KV room now: no draft this step
            }
            ensure(span + max + 1);
            System.arraycopy(context, start, history, 0, span);
            for (int from = common; from < span; from += prefillChunk) {
                int to = Math.min(span, from + prefillChunk);
                feed(context, start, from, to, to == span);
            }
            boolean greedy = sampler.params().greedy();
            int node = DraftTree.ROOT;
            int len = span;
            for (int depth = 0; depth < max && tree.size() < max; depth++) {
                int token;
                if (greedy) {
                    softmax();
                    token = Sampler.argmax(logits);
                    if (depth > 0 && probs[token] < CONFIDENCE) {
                        break;
                    }
                    if (depth == 0 && tree.size() + 1 < max) {
                        int second = runnerUp(token);
                        node = tree.add(DraftTree.ROOT, token);
                        if (second >= 0 && probs[second] >= ALTERNATIVE) {
                            tree.add(DraftTree.ROOT, second);
                        }
                    } else {
                        node = tree.add(node, token);
                    }
                } else {
                    sampler.distribution(logits, 0, history, len, probs);
                    double total = 0;
                    for (int i = 0; i < vocab; i++) total += probs[i];
                    token = sampler.drawFrom(probs, total);
                    node = tree.add(node, token);
                    System.arraycopy(probs, 0, tree.draftProbabilities(node, vocab), 0, vocab);
                }
                history[len++] = token;
                if (depth + 1 < max && tree.size() < max) {
                    fed[fedLength] = token;
                    batch.clear();
                    batch.add(token, fedLength, seq, true);
                    transformer.forward(batch, cache, logits);
                    fedLength++;
                }
            }
        }

        /** Feeds context[start + from .. start + to) at draft positions [from, to). */
        private void feed(int[] context, int start, int from, int to, boolean wantLast) {
            batch.clear();
            for (int i = from; i < to; i++) {
                batch.add(context[start + i], i, seq, wantLast && i == to - 1);
                fed[i] = context[start + i];
            }
            transformer.forward(batch, cache, logits);
            fedLength = to;
        }

        private void ensure(int n) {
            if (fed.length < n) {
                fed = Arrays.copyOf(fed, Math.max(n, fed.length * 2));
            }
            if (history.length < n) {
                history = new int[Math.max(n, history.length * 2)];
            }
        }

        private void softmax() {
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < vocab; i++) max = Math.max(max, logits[i]);
            double sum = 0;
            for (int i = 0; i < vocab; i++) {
                double e = Math.exp(logits[i] - max);
                probs[i] = (float) e;
                sum += e;
            }
            for (int i = 0; i < vocab; i++) probs[i] = (float) (probs[i] / sum);
        }

        private int runnerUp(int best) {
            int second = -1;
            for (int i = 0; i < vocab; i++) {
                if (i != best && (second < 0 || logits[i] > logits[second])) second = i;
            }
            return second;
        }

        @Override
        public void close() {
            cache.release(seq);
        }
    }
}
