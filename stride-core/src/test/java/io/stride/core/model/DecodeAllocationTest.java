package io.stride.core.model;

import com.sun.management.ThreadMXBean;
import io.stride.core.SharedData;
import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.tensor.WorkerPool;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.management.ManagementFactory;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * After warm-up, a decode step (one token through the forward pass) allocates nothing on any engine thread: F16
 * kernels, and the repacked Q4_0 and Q8_0 ones.
 */
class DecodeAllocationTest {
    private static long[] engineThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t == Thread.currentThread() || t.getName().startsWith("stride-worker"))
                .mapToLong(Thread::threadId).toArray();
    }

    private static long allocated(ThreadMXBean mx, long[] ids) {
        long total = 0;
        for (long id : ids) {
            total += Math.max(0, mx.getThreadAllocatedBytes(id));
        }
        return total;
    }

    @ParameterizedTest
    @ValueSource(strings = {"javatiny-26m-f16.gguf", "random/random-llama-quant-q4_0.gguf", "random/random-llama-quant-q8_0.gguf",
            "float:random/random-llama-quant-q4_0.gguf"})
    void decodeStepsDoNotAllocate(String model) {
        ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        mx.setThreadAllocatedMemoryEnabled(true);
        // "float:" loads Q4_0 for float products (-Dstride.q4_0=float; the default is integer products)
        if (model.startsWith("float:")) System.setProperty("stride.q4_0", "float");
        Model opened;
        try {
            opened = Model.open(SharedData.model(model.substring(model.indexOf(':') + 1)));
        } finally {
            System.clearProperty("stride.q4_0");
        }
        try (Model m = opened; WorkerPool pool = new WorkerPool(2)) {
            Transformer tf = new Transformer(m, pool);
            PagedKvCache cache = tf.newCache(16, 64);
            KvSequence seq = cache.newSequence();
            cache.reserve(seq, 1024);
            Batch b = new Batch();
            float[] logits = new float[m.config().vocab()];
            int pos = 0;
            long best = Long.MAX_VALUE;
            long[] ids = engineThreads();
            // warm up (JIT), then measure windows of 32 steps until one allocates nothing (C2 may take a few hundred
            // steps to compile every kernel of a small model, on a busy machine); the best window must be allocation-free
            for (int round = 0; round < 400 && best != 0; round++) {
                long before = allocated(mx, ids);
                for (int i = 0; i < 32; i++, pos++) {
                    b.clear();
                    b.add((pos * 31) % m.config().vocab(), pos % 512, seq, true);
                    tf.forward(b, cache, logits);
                }
                long after = allocated(mx, ids);
                if (round >= 20) best = Math.min(best, after - before);
            }
            System.out.println("bytes allocated by 32 decode steps after warm-up: " + best);
            assertThat(best).isZero();
        }
    }
}
