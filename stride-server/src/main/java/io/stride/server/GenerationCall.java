package io.stride.server;

import io.stride.core.engine.EngineRequest;
import io.stride.core.engine.Finished;
import io.stride.core.engine.GenerationParams;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.engine.TokenEvent;
import io.stride.core.engine.TokenSink;
import io.stride.core.grammar.TokenGrammar;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One HTTP request's generations in the engine, with their events queued for the request's thread: {@code n}
 * choices for each prompt (a completion may give several), choice {@code p * n + j} being prompt p's j-th.
 */
final class GenerationCall implements InFlight.Call {
    private static final AtomicLong IDS = new AtomicLong();

    final String id;
    final List<int[]> prompts;
    final int n;
    final int choices;
    /** prompt tokens counted once per prompt, as the API's usage does */
    final int promptTokens;
    private final BlockingQueue<ChoiceEvent> events = new LinkedBlockingQueue<>();
    private final List<InferenceEngine.Handle> handles = new ArrayList<>();

    GenerationCall(String prefix, List<int[]> prompts, int n) {
        this.id = prefix + "-" + Long.toHexString(System.currentTimeMillis()) + Long.toHexString(IDS.incrementAndGet());
        this.prompts = List.copyOf(prompts);
        this.n = n;
        this.choices = prompts.size() * n;
        this.promptTokens = prompts.stream().mapToInt(p -> p.length).sum();
    }

    /**
     * Submits every choice; on failure cancels those already submitted and throws the engine's refusal as the
     * API error it is (429 queue full, 400 cannot fit, 503 shut down).
     */
    void start(InferenceEngine engine, GenerationSpec spec, int maxTokens, TokenGrammar grammar) {
        try {
            engine.sparseAttention(spec.sparseAttention()); // its layers checked against the model before anything is queued
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("sparse_attention: " + e.getMessage(), "sparse_attention");
        }
        try {
            for (int c = 0; c < choices; c++) {
                final int choice = c;
                var sampling = spec.sampling();
                if (sampling.seed() >= 0 && c > 0) {
                    sampling = sampling.withSeed(sampling.seed() + c);
                }
                GenerationParams params = new GenerationParams(maxTokens, sampling, spec.stop(), grammar);
                TokenSink sink = new TokenSink() {
                    @Override
                    public void onToken(TokenEvent e) {
                        events.add(new ChoiceEvent.Token(choice, e));
                    }

                    @Override
                    public void onFinish(Finished f) {
                        events.add(new ChoiceEvent.Finish(choice, f));
                    }

                    @Override
                    public void onError(RuntimeException error) {
                        events.add(new ChoiceEvent.Failure(choice, error));
                    }
                };
                InferenceEngine.Handle h = engine.submit(new EngineRequest(id + "-" + c, prompts.get(c / n), params, spec.logprobs(),
                        spec.cacheSalt(), sink, spec.speculation(), null, spec.sparseAttention()));
                synchronized (handles) {
                    handles.add(h);
                }
            }
        } catch (RuntimeException e) {
            cancel();
            throw refusal(e, null);
        }
    }

    /** An engine's refusal of a submission as an API error. */
    static RuntimeException refusal(RuntimeException e, String param) {
        return switch (e) {
            case InferenceEngine.QueueFullException q -> new ApiException(429, "rate_limit_error", q.getMessage(), null, "queue_full");
            case io.stride.core.engine.UnsupportedFieldException u -> ApiException.badRequest(u.getMessage(), u.field());
            case IllegalArgumentException a -> ApiException.badRequest(a.getMessage(), param);
            case IllegalStateException s -> new ApiException(503, "server_error", s.getMessage(), null, "unavailable");
            default -> e;
        };
    }

    ChoiceEvent next() throws InterruptedException {
        return events.take();
    }

    /** Cancels every choice in the engine (the client went away); their finish events still arrive. */
    void cancel() {
        synchronized (handles) {
            handles.forEach(InferenceEngine.Handle::cancel);
        }
    }

    /** Ends the request from the server's side: cancels its choices and tells the handler, which answers with {@code message}. */
    @Override
    public void abort(String message) {
        cancel();
        events.add(new ChoiceEvent.Aborted(-1, message));
    }
}
