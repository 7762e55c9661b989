package io.stride.server;

import io.stride.core.SharedData;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tools.ModelQuantizer;
import io.stride.core.tools.QuantTarget;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * 16 concurrent greedy requests return exactly what the same requests return one at a time: with chunked
 * prefill, without it, and with a KV cache small enough to force preemption.
 */
class BatchingInvarianceServerTest {
    record Req(String prompt, int maxTokens) {}

    static List<Req> requests() throws Exception {
        List<String> prompts = Workload.prompts(null);
        List<Req> out = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            String p = prompts.get((i * 5) % prompts.size());
            int len = 80 + (i * 97) % 700;
            out.add(new Req(p.substring(Math.max(0, p.length() - len)), 8 + (i * 7) % 40));
        }
        return out;
    }

    static List<String> sequential(TestServer s, List<Req> reqs) throws Exception {
        List<String> out = new ArrayList<>();
        for (Req r : reqs) out.add(s.complete(r.prompt(), r.maxTokens()));
        return out;
    }

    static List<String> concurrent(TestServer s, List<Req> reqs) throws Exception {
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> fs = new ArrayList<>();
            for (Req r : reqs) fs.add(ex.submit(() -> s.complete(r.prompt(), r.maxTokens())));
            List<String> out = new ArrayList<>();
            for (Future<String> f : fs) out.add(f.get());
            return out;
        }
    }

    @TempDir
    Path dir;

    @Test
    void concurrentEqualsSequentialWithAndWithoutChunkingAndUnderPreemption() throws Exception {
        check(null);
    }

    /** The same with the model quantized to Q4_K_M: Q4_K's integer products and Q6_K's, in every batch shape. */
    @Test
    void kQuantModelIsBatchInvariantToo() throws Exception {
        Path q = dir.resolve("javatiny-q4_k_m.gguf");
        try (WorkerPool pool = new WorkerPool(2)) {
            ModelQuantizer.quantize(SharedData.model("javatiny-26m-f16.gguf"), q, QuantTarget.parse("Q4_K_M"), pool, (n, f, t) -> {});
        }
        check(q);
    }

    private static void check(Path model) throws Exception {
        List<Req> reqs = requests();
        List<String> reference;
        try (TestServer s = TestServer.builder().modelPath(model).prefixCache(false).start()) {
            reference = sequential(s, reqs);
        }
        try (TestServer s = TestServer.builder().modelPath(model).maxBatchTokens(64).start()) {
            assertThat(concurrent(s, reqs)).as("chunked prefill").isEqualTo(reference);
        }
        try (TestServer s = TestServer.builder().modelPath(model).chunked(false).maxBatchTokens(64).start()) {
            assertThat(concurrent(s, reqs)).as("no chunking").isEqualTo(reference);
        }
        // room for a few sequences at a time: forces preemption and recomputation
        try (TestServer s = TestServer.builder().modelPath(model).kvBlocks(40).maxBatchTokens(64).start()) {
            assertThat(concurrent(s, reqs)).as("small KV cache").isEqualTo(reference);
            assertThat(s.metric("stride_preemptions_total")).as("preemptions happened").isPositive();
            assertThat(s.engine.usedBlocks()).isZero();
        }
    }
}
