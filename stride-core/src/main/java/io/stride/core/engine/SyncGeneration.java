package io.stride.core.engine;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;

/**
 * One generation run to its end through the engine, for callers that want a result rather than a stream of events
 * ({@code generate}, benchmarks, the library API): submit, collect on the sink, wait. The same loop, batching,
 * speculation and stop rule as a server request, so a prompt gives the same tokens either way.
 */
public final class SyncGeneration {
    private SyncGeneration() {}

    static GenerationResult run(InferenceEngine engine, String id, int[] prompt, GenerationParams params, String speculation,
                                Consumer<String> onText) throws InterruptedException {
        return run(engine, id, prompt, params, speculation, onText, 0);
    }

    /** As {@link InferenceEngine#generate}, in the prefix-cache tenant {@code cacheSalt} (0: shared). */
    public static GenerationResult run(InferenceEngine engine, String id, int[] prompt, GenerationParams params, String speculation,
                                       Consumer<String> onText, long cacheSalt) throws InterruptedException {
        int context = engine.config().contextLength();
        if (prompt.length == 0) {
            throw new IllegalArgumentException("empty prompt: nothing to condition on (the model adds no BOS token)");
        }
        if (prompt.length >= context) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens does not fit the context of "
                    + context + " tokens (one position must remain for generation)");
        }
        int maxTokens = Math.min(params.maxTokens(), context - prompt.length);
        if (maxTokens == 0) {
            return new GenerationResult(new int[0], "", FinishReason.LENGTH, prompt.length, 0, 0, Finished.Speculation.NONE);
        }
        GenerationParams clamped = new GenerationParams(maxTokens, params.sampling(), params.stop(), params.grammar());
        Collector sink = new Collector(onText, maxTokens);
        long submitted = System.nanoTime();
        InferenceEngine.Handle handle = engine.submit(new EngineRequest(id, prompt, clamped, -1, cacheSalt, sink, speculation));
        Finished done;
        try {
            done = sink.done.get();
        } catch (InterruptedException e) {
            handle.cancel();
            throw e;
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
        }
        long first = sink.firstNanos == 0 ? sink.endNanos : sink.firstNanos;
        return new GenerationResult(Arrays.copyOf(sink.tokens, sink.count), sink.text.toString(), done.reason(), prompt.length,
                first - submitted, sink.endNanos - first, done.speculation());
    }

    /** Gathers a run's tokens and text on the engine thread, passing the text on as it comes. */
    private static final class Collector implements TokenSink {
        final CompletableFuture<Finished> done = new CompletableFuture<>();
        final Consumer<String> onText;
        final StringBuilder text = new StringBuilder();
        int[] tokens;
        int count;
        long firstNanos;
        long endNanos;

        Collector(Consumer<String> onText, int maxTokens) {
            this.onText = onText;
            this.tokens = new int[Math.max(1, maxTokens)];
        }

        @Override
        public void onToken(TokenEvent e) {
            if (firstNanos == 0) {
                firstNanos = System.nanoTime();
            }
            if (count == tokens.length) {
                tokens = Arrays.copyOf(tokens, count * 2);
            }
            tokens[count++] = e.token();
            if (!e.text().isEmpty()) {
                text.append(e.text());
                onText.accept(e.text());
            }
        }

        @Override
        public void onFinish(Finished f) {
            endNanos = System.nanoTime();
            if (!f.trailingText().isEmpty()) {
                text.append(f.trailingText());
                onText.accept(f.trailingText());
            }
            done.complete(f);
        }

        @Override
        public void onError(RuntimeException error) {
            done.completeExceptionally(error);
        }
    }
}
