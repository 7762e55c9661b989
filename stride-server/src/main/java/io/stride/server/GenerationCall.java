package io.stride.server;

import io.stride.core.engine.EngineRequest;
import io.stride.core.engine.FinishReason;
import io.stride.core.engine.GenerationParams;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.engine.TokenEvent;
import io.stride.core.engine.TokenSink;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/** One HTTP request's generations (n choices) in the engine, with their events queued for the request's thread. */
final class GenerationCall {
    private static final AtomicLong IDS = new AtomicLong();

    final String id;
    final int promptTokens;
    final int choices;
    private final BlockingQueue<ChoiceEvent> events = new LinkedBlockingQueue<>();
    private final List<InferenceEngine.Handle> handles = new ArrayList<>();

    GenerationCall(String prefix, int promptTokens, int choices) {
        this.id = prefix + "-" + Long.toHexString(System.currentTimeMillis()) + Long.toHexString(IDS.incrementAndGet());
        this.promptTokens = promptTokens;
        this.choices = choices;
    }

    /** Submits every choice; on failure cancels those already submitted and rethrows. */
    void start(InferenceEngine engine, int[] prompt, GenerationSpec spec, int maxTokens) {
        try {
            for (int c = 0; c < choices; c++) {
                final int choice = c;
                var sampling = spec.sampling();
                if (sampling.seed() >= 0 && c > 0) {
                    sampling = sampling.withSeed(sampling.seed() + c);
                }
                GenerationParams params = new GenerationParams(maxTokens, sampling, spec.stop(), 512);
                TokenSink sink = new TokenSink() {
                    @Override
                    public void onToken(TokenEvent e) {
                        events.add(new ChoiceEvent.Token(choice, e));
                    }

                    @Override
                    public void onFinish(FinishReason reason, int p, int completion, String trailing) {
                        events.add(new ChoiceEvent.Finish(choice, reason, p, completion, trailing));
                    }

                    @Override
                    public void onError(RuntimeException error) {
                        events.add(new ChoiceEvent.Failure(choice, error));
                    }
                };
                handles.add(engine.submit(new EngineRequest(id + "-" + c, prompt, params, spec.logprobs(), spec.cacheSalt(), sink, spec.speculation())));
            }
        } catch (RuntimeException e) {
            cancel();
            throw e;
        }
    }

    ChoiceEvent next() throws InterruptedException {
        return events.take();
    }

    void cancel() {
        handles.forEach(InferenceEngine.Handle::cancel);
    }
}
