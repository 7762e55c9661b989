package io.stride.core.diffusion;

import io.stride.core.model.Model;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tokenizer.Vocabulary;

import java.util.Arrays;

/**
 * Generates text with a masked-diffusion model: the answer starts as mask tokens after the prompt and each step
 * runs the model over the canvas, chooses a token for every masked position of the current block and keeps the
 * best-scored few (see {@link DiffusionParams} for the schedule and the speed-ups). With the speed-ups off and a
 * positive temperature it makes llama-diffusion-cli's choices draw for draw. One generation at a time.
 */
public final class DiffusionDecoder {
    private final int mask, vocab, capacity;
    private final boolean shift;
    private final Vocabulary words;
    private final boolean[] newline;
    private final CanvasForward forward;
    private final boolean[] active, want, decodedLast;
    private final int[] masked, picked;
    private final float[] score, prob, gap;
    private final boolean[] extra;
    private final float[] features = new float[FinalityFilter.FEATURES.length];
    private final long[] order;

    /** A decoder for canvases (prompt + answer) of at most {@code capacity} positions. */
    public DiffusionDecoder(Model model, WorkerPool pool, int capacity) {
        this.mask = maskToken(model);
        this.shift = model.file().meta().bool("diffusion.shift_logits", true); // llama.cpp's default when absent
        this.vocab = model.config().vocab();
        if (capacity < 2 || capacity > model.config().contextLength()) {
            throw new IllegalArgumentException("diffusion canvas of " + capacity + " positions: must be 2.."
                    + model.config().contextLength() + " (the model's context)");
        }
        this.capacity = capacity;
        this.words = model.tokenizer().vocabulary();
        this.newline = new boolean[vocab];
        for (int t = 0; t < vocab; t++) {
            for (byte b : model.tokenizer().tokenBytes(t)) {
                newline[t] |= b == '\n';
            }
        }
        this.forward = new CanvasForward(model, pool, capacity);
        active = new boolean[capacity];
        want = new boolean[capacity];
        decodedLast = new boolean[capacity];
        masked = new int[capacity];
        picked = new int[capacity];
        score = new float[capacity];
        prob = new float[capacity];
        gap = new float[capacity];
        extra = new boolean[capacity];
        order = new long[capacity];
    }

    /** The model's mask token ({@code tokenizer.ggml.mask_token_id}), or an error naming the file. */
    public static int maskToken(Model model) {
        if (!model.isDiffusion()) {
            throw new IllegalArgumentException(model.file().path().getFileName() + " is not a diffusion model");
        }
        long id = model.file().meta().integer("tokenizer.ggml.mask_token_id", -1);
        if (id < 0 || id >= model.config().vocab()) {
            throw new IllegalArgumentException(model.file().path().getFileName()
                    + ": a diffusion model needs tokenizer.ggml.mask_token_id inside the vocabulary, got " + id);
        }
        return (int) id;
    }

    public int maskToken() {
        return mask;
    }

    public int capacity() {
        return capacity;
    }

    /** Decodes {@code p.maxTokens()} positions after {@code prompt}; {@code listener} (may be null) sees each final block. */
    public DiffusionResult generate(int[] prompt, DiffusionParams p, DiffusionListener listener) {
        return generate(prompt, p, listener, null);
    }

    /** As {@link #generate(int[], DiffusionParams, DiffusionListener)}, {@code observer} (may be null) seeing every sampled position. */
    public DiffusionResult generate(int[] prompt, DiffusionParams p, DiffusionListener listener, StepObserver observer) {
        int n = prompt.length, total = n + p.maxTokens();
        if (n == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        if (total > capacity) {
            throw new IllegalArgumentException("prompt (" + n + " tokens) plus max_tokens (" + p.maxTokens() + ") is "
                    + total + " positions, more than the " + capacity + " this decoder holds");
        }
        for (int t : prompt) {
            if (t < 0 || t >= vocab) throw new IllegalArgumentException("token id " + t + " outside the vocabulary [0, " + vocab + ")");
        }
        int[] canvas = Arrays.copyOf(prompt, total);
        Arrays.fill(canvas, n, total, mask);
        TokenChooser chooser = new TokenChooser(vocab, p.temperature(), p.topK(), p.topP(), p.seed());
        TokenChooser boundary = new TokenChooser(vocab, 0, 0, 1, 0);
        Mt19937 rng = new Mt19937(p.seed());
        forward.resetCounters();
        long t0 = System.nanoTime();
        int steps = 0;
        boolean blocks = p.blockLength() > 0;
        int len = p.blockLength();
        int stepsPerBlock = blocks ? p.steps() / DiffusionParams.blocks(p.maxTokens(), len) : p.steps();
        boolean stop = false;
        for (int start = blocks ? n : 0; start < total && !stop; ) {
            int end = blocks ? Math.min(start + len, total) : total;
            boolean adaptive = p.adaptiveBlock() > 0;
            int budget = stepsPerBlock;
            int[] transfers = null;
            Arrays.fill(decodedLast, false);
            for (int step = 0; step < budget; step++) {
                boolean sizing = adaptive && step == 0;
                int m = collectMasked(canvas, start, sizing ? Math.min(start + 2 * len, total) : end);
                if (m == 0) {
                    break;
                }
                boolean full = p.cacheRefresh() == 0 || step % p.cacheRefresh() == 0;
                Arrays.fill(want, 0, total, false);
                for (int i = 0; i < m; i++) {
                    want[rowPosition(masked[i])] = true;
                }
                if (!full) {
                    for (int q = 0; q < total; q++) {
                        active[q] = want[q] || decodedLast[q] || (q >= start && q < end && canvas[q] == mask);
                    }
                }
                forward.run(canvas, total, full ? null : active, want);
                steps++;
                Arrays.fill(decodedLast, false);
                if (sizing) {
                    end = blockEnd(canvas, start, m, len, p.adaptiveBlock(), boundary, total);
                    budget = Math.max(1, (int) Math.ceil((end - start) * (double) p.steps() / p.maxTokens()));
                    m = collectMasked(canvas, start, end);
                }
                if (transfers == null && blocks) {
                    transfers = spread(m, budget);
                }
                int decoded = p.remasking() == Remasking.ORIGIN
                        ? originStep(canvas, m, step, budget, p, transfers, chooser, rng)
                        : rankedStep(canvas, m, step, budget, end - start, p, transfers, chooser, rng, observer);
                if (p.endOfText() && decoded > 0) {
                    fillAfterEndOfText(canvas, n, total);
                }
            }
            if (listener != null && !listener.finalized(canvas, Math.max(start, n), end)) {
                stop = true;
            }
            start = end;
        }
        long nanos = System.nanoTime() - t0;
        int stopAt = n;
        while (stopAt < total && canvas[stopAt] != mask && !words.isEndOfGeneration(canvas[stopAt])) {
            stopAt++;
        }
        return new DiffusionResult(canvas, n, Arrays.copyOfRange(canvas, n, stopAt),
                stopAt < total && canvas[stopAt] != mask, forward.passes(), forward.rows(), steps, nanos);
    }

    /** The canvas row whose logits predict position q: q-1 for shifted models (Dream's convention), else q. */
    private int rowPosition(int q) {
        return shift ? Math.max(q - 1, 0) : q;
    }

    private int collectMasked(int[] canvas, int from, int to) {
        int m = 0;
        for (int q = from; q < to; q++) {
            if (canvas[q] == mask) masked[m++] = q;
        }
        return m;
    }

    /**
     * AdaBlock: the block ends after the first position from half a block on whose most probable token holds a
     * newline with probability ≥ {@code confidence}; without one, after {@code len} positions.
     */
    private int blockEnd(int[] canvas, int start, int m, int len, float confidence, TokenChooser boundary, int total) {
        int from = start + Math.max(1, len / 2) - 1;
        for (int i = 0; i < m; i++) {
            int q = masked[i];
            if (q < from) continue;
            int t = boundary.choose(forward.logits(), forward.row(rowPosition(q)));
            if (newline[t] && boundary.probability() >= confidence) {
                return q + 1;
            }
        }
        return Math.min(start + len, total);
    }

    /** llama.cpp's get_num_transfer_tokens: {@code masks} spread over {@code steps}, the remainder to the first steps. */
    static int[] spread(int masks, int steps) {
        int[] t = new int[steps];
        for (int i = 0; i < steps; i++) {
            t[i] = masks / steps + (i < masks % steps ? 1 : 0);
        }
        return t;
    }

    /** Positions the schedule unmasks at {@code step} of {@code total} with {@code remaining} masked (llama.cpp's float arithmetic). */
    static int scheduled(int step, int total, int remaining, int[] transfers, float eps) {
        if (transfers != null) {
            return step < transfers.length ? transfers[step] : remaining / (total - step);
        }
        float t = 1.0f - (float) step / total * (1.0f - eps);
        float s = 1.0f - (float) (step + 1) / total * (1.0f - eps);
        float pTransfer = step < total - 1 ? 1.0f - s / t : 1.0f;
        return (int) (remaining * pTransfer);
    }

    /** D3PM's order: each masked position is unmasked with probability scheduled / masked. */
    private int originStep(int[] canvas, int m, int step, int budget, DiffusionParams p, int[] transfers,
                           TokenChooser chooser, Mt19937 rng) {
        int count = scheduled(step, budget, m, transfers, p.eps());
        float pTransfer = (float) count / m;
        int decoded = 0;
        for (int i = 0; i < m; i++) {
            int q = masked[i];
            if (rng.nextFloat() < pTransfer) {
                canvas[q] = chooser.choose(forward.logits(), forward.row(rowPosition(q)));
                decodedLast[q] = true;
                decoded++;
            }
        }
        return decoded;
    }

    /** Samples every masked position, then unmasks the best-scored ones (plus the threshold's, or all on Prophet's signal). */
    private int rankedStep(int[] canvas, int m, int step, int budget, int blockLength, DiffusionParams p, int[] transfers,
                           TokenChooser chooser, Mt19937 rng, StepObserver observer) {
        double gapSum = 0;
        for (int i = 0; i < m; i++) {
            picked[i] = chooser.choose(forward.logits(), forward.row(rowPosition(masked[i])));
            prob[i] = chooser.probability();
            gap[i] = chooser.logitGap();
            gapSum += gap[i];
            score[i] = switch (p.remasking()) {
                case CONFIDENCE, ORIGIN -> chooser.probability();
                case MARGIN -> chooser.margin();
                case ENTROPY -> chooser.negEntropy();
                case RANDOM -> rng.nextFloat();
            };
            extra[i] = p.threshold() > 0 && prob[i] >= p.threshold();
            if (observer != null || p.filter() != null) {
                features(canvas, masked[i], chooser, m, blockLength, step, budget);
                if (observer != null) observer.observe(masked[i], picked[i], features);
                if (p.filter() != null && p.filter().isFinal(masked[i], picked[i], features)) extra[i] = true;
            }
        }
        int count = Math.min(scheduled(step, budget, m, transfers, p.eps()), m);
        if (p.prophetGap() > 0 && gapSum / m >= p.prophetGap()) {
            count = m; // Prophet: the answer has converged, commit the rest of the block now
        }
        for (int i = 0; i < m; i++) {
            order[i] = TokenChooser.key(score[i], i); // llama.cpp's partial_sort order: score descending, index ascending
        }
        Arrays.sort(order, 0, m);
        int decoded = 0;
        for (int r = 0; r < m; r++) {
            int i = (int) order[r];
            if (r < count || extra[i]) {
                canvas[masked[i]] = picked[i];
                decodedLast[masked[i]] = true;
                decoded++;
            }
        }
        return decoded;
    }

    /** The {@link FinalityFilter#FEATURES} of masked position q at this step. */
    private void features(int[] canvas, int q, TokenChooser chooser, int m, int blockLength, int step, int budget) {
        int left = q - 1;
        while (left >= 0 && canvas[left] == mask) left--;
        features[0] = chooser.probability();
        features[1] = chooser.margin();
        features[2] = chooser.negEntropy();
        features[3] = chooser.logitGap() / 10;
        features[4] = m / (float) blockLength;
        features[5] = Math.min(1f, (q - left) / (float) blockLength);
        features[6] = step / (float) budget;
    }

    /** Learn2PD's end-of-text rule: every masked position after an unmasked end-of-generation token becomes that token. */
    private void fillAfterEndOfText(int[] canvas, int from, int total) {
        for (int q = from; q < total; q++) {
            if (canvas[q] != mask && words.isEndOfGeneration(canvas[q])) {
                for (int r = q + 1; r < total; r++) {
                    if (canvas[r] == mask) canvas[r] = canvas[q];
                }
                return;
            }
        }
    }
}
