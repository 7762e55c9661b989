package io.stride.core.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.SharedData;
import io.stride.core.model.Model;
import io.stride.core.parallel.WorkerPool;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A sparse sequence preempted and recomputed writes what it writes alone, to the bit: on readmission it reuses cached
 * blocks of its prompt only, never blocks past it that a dense sequence with the same prompt (and, so far, the same
 * tokens) computed densely. Three requests share 18 blocks: a dense one and a sparse one with the same 40-token prompt,
 * and a longer filler between them, so the sparse one (admitted last) is the preemption victim once their decode steps
 * outgrow the cache, and is readmitted after the dense one finished and left its decode blocks in the prefix cache.
 */
class SparsePreemptionTest {
    private static final int PROMPT = 40, TOKENS = 48;

    @ParameterizedTest
    @ValueSource(strings = {"tidal:budget=48", "shadowkv:budget=32,outliers=1,local=1"})
    void aPreemptedSparseSequenceDoesNotReuseDenseDecodeBlocks(String mode) throws Exception {
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf")); WorkerPool pool = new WorkerPool(2)) {
            StringBuilder all = new StringBuilder();
            for (String line : Files.readAllLines(SharedData.require("workloads/java-dev.jsonl"))) {
                if (!line.isBlank()) all.append(new ObjectMapper().readTree(line).get("prompt").asText()).append('\n');
            }
            int[] text = m.tokenizer().encode(all.toString());
            int[] prompt = Arrays.copyOf(text, PROMPT);
            int[] filler = Arrays.copyOfRange(text, 1000, 1120);
            List<Run> alone;
            try (InferenceEngine e = EngineBuilder.of(m, pool).context(512).kvBlocks(64).build()) {
                alone = List.of(submit(e, prompt, "none").join(), submit(e, prompt, mode).join());
            }
            try (InferenceEngine e = EngineBuilder.of(m, pool).context(512).kvBlocks(18).maxBatchTokens(64).build()) {
                CompletableFuture<Run> dense = submit(e, prompt, "none");
                CompletableFuture<Run> fill = submit(e, filler, "none");
                CompletableFuture<Run> sparse = submit(e, prompt, mode);
                fill.join();
                assertThat(dense.join()).as("dense").isEqualTo(alone.get(0));
                assertThat(sparse.join()).as("sparse, preempted").isEqualTo(alone.get(1));
                assertThat(e.preemptions()).as("preemptions").isPositive();
            }
        }
    }

    /** A request's tokens and their log-probabilities (compared bit for bit). */
    private record Run(List<Integer> tokens, List<Float> logprobs) {}

    private static CompletableFuture<Run> submit(InferenceEngine e, int[] prompt, String sparse) {
        CompletableFuture<Run> done = new CompletableFuture<>();
        List<Integer> tokens = new ArrayList<>();
        List<Float> logprobs = new ArrayList<>();
        e.submit(new EngineRequest("r" + System.nanoTime(), prompt, GenerationParams.greedy(TOKENS), 0, 0, new TokenSink() {
            @Override
            public void onToken(TokenEvent event) {
                tokens.add(event.token());
                logprobs.add(event.logprob());
            }

            @Override
            public void onFinish(Finished finished) {
                done.complete(new Run(tokens, logprobs));
            }

            @Override
            public void onError(RuntimeException error) {
                done.completeExceptionally(error);
            }
        }, "none", null, sparse));
        return done;
    }
}
