package io.stride.core.engine;

import io.stride.core.diffusion.DiffusionDecoder;
import io.stride.core.diffusion.DiffusionOptions;
import io.stride.core.diffusion.DiffusionParams;
import io.stride.core.model.Model;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.sampling.SamplingParams;

import java.util.List;
import java.util.Random;

/**
 * The engine's loop for a diffusion model: requests run one at a time, in arrival order, each decoded to its end by
 * a {@link DiffusionDecoder}; its answer reaches the sink block by block as each block becomes final, through the same
 * stop rule as next-token generation (end-of-generation token, stop strings, max tokens).
 */
final class DiffusionRunner {
    private final Model model;
    private final DiffusionDecoder decoder;
    private final DiffusionOptions options;
    private final int contextLength;
    private final Random seeds = new Random();

    DiffusionRunner(Model model, WorkerPool pool, int contextLength, DiffusionOptions options) {
        this.model = model;
        this.decoder = new DiffusionDecoder(model, pool, contextLength);
        this.options = options;
        this.contextLength = contextLength;
    }

    /** Refuses, naming it, what a diffusion model cannot do for a request. */
    void check(EngineRequest r) {
        SamplingParams sp = r.params().sampling();
        String[] unsupported = r.pooling() != null ? new String[]{"input", "embeddings"}
                : r.topLogprobs() >= 0 ? new String[]{"logprobs", "logprobs"}
                : r.params().grammar() != null ? new String[]{"response_format", "constrained output (response_format, tools, grammar)"}
                : r.speculation() != null && !r.speculation().equals("none") ? new String[]{"speculation", "speculative decoding"}
                : r.sparseAttention() != null && !r.sparseAttention().equals("none") ? new String[]{"sparse_attention", "sparse_attention"}
                : !sp.logitBias().isEmpty() ? new String[]{"logit_bias", "logit_bias"}
                : sp.repeatPenalty() != 1f ? new String[]{"repetition_penalty", "repetition_penalty"}
                : sp.frequencyPenalty() != 0f ? new String[]{"frequency_penalty", "frequency_penalty"}
                : sp.presencePenalty() != 0f ? new String[]{"presence_penalty", "presence_penalty"}
                : sp.minP() != 0f ? new String[]{"min_p", "min_p"}
                : null;
        if (unsupported != null) {
            throw new UnsupportedFieldException(unsupported[0], unsupported[1] + " does not apply to a diffusion model ("
                    + model.config().arch().name() + "): it unmasks positions in parallel, with no next-token distribution");
        }
        options.params(Math.max(1, r.params().maxTokens()), sp.temperature(), sp.topK(), sp.topP(), 0); // the answer length fits the schedule
    }

    /** Decodes {@code s} to its end on the calling thread; a failure ends it with an error, not the engine. */
    void run(Sequence s, EngineListener listener) {
        s.startNanos = System.nanoTime();
        listener.queued(s.id(), (s.startNanos - s.arrivalNanos) / 1e9);
        try {
            decode(s, listener);
        } catch (RuntimeException e) {
            s.state = Sequence.State.FINISHED;
            s.request.sink().onError(e);
        }
    }

    private void decode(Sequence s, EngineListener listener) {
        EngineRequest r = s.request;
        SamplingParams sp = r.params().sampling();
        int maxTokens = Math.min(r.params().maxTokens(), contextLength - s.promptLength);
        if (maxTokens < 1) {
            s.state = Sequence.State.FINISHED;
            s.end(FinishReason.LENGTH, System.nanoTime(), listener);
            return;
        }
        long seed = sp.seed() >= 0 ? sp.seed() : seeds.nextInt() & 0xffffffffL;
        DiffusionParams p = options.params(maxTokens, sp.temperature(), sp.topK(), sp.topP(), seed);
        FinishReason[] end = {null};
        decoder.generate(r.prompt(), p, (canvas, from, to) -> {
            long now = System.nanoTime();
            for (int q = from; q < to && end[0] == null; q++) {
                int t = canvas[q];
                if (t == decoder.maskToken()) { // 'origin' remasking may leave a block's position masked: the answer ends there
                    end[0] = FinishReason.LENGTH;
                    break;
                }
                if (StopRule.endsBefore(model.tokenizer().vocabulary(), t)) {
                    end[0] = FinishReason.STOP;
                    break;
                }
                s.append(t);
                listener.generatedTokens(1);
                if (s.firstTokenNanos == 0) {
                    s.firstTokenNanos = now;
                    listener.firstToken(s.id(), (now - s.arrivalNanos) / 1e9);
                }
                s.lastTokenNanos = now;
                r.sink().onToken(new TokenEvent(t, s.stops.accept(s.decoder.next(t)), Float.NaN, List.of()));
                end[0] = StopRule.after(s, t, contextLength);
            }
            if (end[0] == null && s.cancelled) {
                end[0] = FinishReason.CANCELLED;
            }
            return end[0] == null;
        });
        s.end(end[0] != null ? end[0] : FinishReason.LENGTH, System.nanoTime(), listener);
    }
}
