package io.stride.core.engine;

import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs a few short requests through a throwaway engine over the server's model and KV cache before the server
 * opens, so that the JIT has compiled the prefill, decode, attention and sampling paths when the first user
 * arrives (run cold, they take the interpreter's and C1's time, several times the steady one). Rounds repeat
 * until one is no more than 10 % faster than the one before, or the time budget is spent. The throwaway engine has
 * no prefix cache and gives every block back, so the server starts with an empty cache.
 */
public final class Warmup {
    private Warmup() {}

    /** What the warm-up did: rounds run, and the first and last round's times. */
    public record Report(int rounds, double firstSeconds, double lastSeconds) {}

    public static Report run(Model model, Transformer transformer, PagedKvCache cache, EngineConfig serving, long budgetNanos) {
        int[] prompt = prompt(model, Math.min(96, serving.contextLength() / 4));
        int generate = Math.max(1, Math.min(24, serving.contextLength() / 4));
        int parallel = Math.max(1, Math.min(4, serving.maxSequences()));
        if (cache.blocksFor(prompt.length + generate) * parallel > cache.usableBlocks()) {
            parallel = 1;
            if (cache.blocksFor(prompt.length + generate) > cache.usableBlocks()) {
                return new Report(0, 0, 0);
            }
        }
        EngineConfig cfg = new EngineConfig(serving.maxBatchTokens(), parallel, parallel, serving.contextLength(), serving.chunkedPrefill(),
                false);
        long start = System.nanoTime();
        List<Double> rounds = new ArrayList<>();
        try (InferenceEngine engine = new InferenceEngine(model, transformer, cache, cfg, null)) {
            while (rounds.size() < 8 && System.nanoTime() - start < budgetNanos) {
                long t0 = System.nanoTime();
                if (!round(engine, prompt, generate, parallel, budgetNanos - (t0 - start))) {
                    break;
                }
                rounds.add((System.nanoTime() - t0) / 1e9);
                int n = rounds.size();
                if (n >= 2 && rounds.get(n - 1) > 0.9 * rounds.get(n - 2)) {
                    break;
                }
            }
        }
        return new Report(rounds.size(), rounds.isEmpty() ? 0 : rounds.getFirst(), rounds.isEmpty() ? 0 : rounds.getLast());
    }

    private static boolean round(InferenceEngine engine, int[] prompt, int generate, int parallel, long leftNanos) {
        CountDownLatch done = new CountDownLatch(parallel);
        List<InferenceEngine.Handle> handles = new ArrayList<>();
        for (int i = 0; i < parallel; i++) {
            // varied seeds: sampled tokens differ, so the sequences take different paths through the vocabulary
            var sampling = new io.stride.core.sampling.SamplingParams(0.8f, 40, 0.95f, 0.05f, 1f, 64, 0f, 0f, java.util.Map.of(), 17 + i);
            handles.add(engine.submit(new EngineRequest("warmup-" + i, prompt, new GenerationParams(generate, sampling, List.of()),
                    i == 0 ? 2 : -1, 0, new TokenSink() {
                @Override
                public void onToken(TokenEvent event) {}

                @Override
                public void onFinish(Finished finished) {
                    done.countDown();
                }

                @Override
                public void onError(RuntimeException error) {
                    done.countDown();
                }
            }, "none")));
        }
        try {
            if (!done.await(Math.max(1, leftNanos), TimeUnit.NANOSECONDS)) {
                handles.forEach(InferenceEngine.Handle::cancel);
                done.await(10, TimeUnit.SECONDS);
                return false;
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            handles.forEach(InferenceEngine.Handle::cancel);
            return false;
        }
    }

    /** A prompt of ordinary text, {@code n} tokens long (repeated as needed). */
    private static int[] prompt(Model model, int n) {
        int[] text = model.tokenizer().encode("The quick brown fox jumps over the lazy dog. public static void main(String[] args) { "
                + "return values.stream().map(x -> x * 2).toList(); } ", true, false);
        int[] out = new int[Math.max(2, n)];
        for (int i = 0; i < out.length; i++) {
            out[i] = text[i % text.length];
        }
        return out;
    }
}
