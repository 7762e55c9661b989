package io.stride.core.model;

import com.sun.management.ThreadMXBean;
import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.parallel.WorkerPool;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;

/**
 * The measurement of {@link DecodeAllocationTest}, run in a JVM of its own for one model (as the server runs one model
 * per process): windows of 32 decode steps after warm-up, the bytes the best window allocated on the engine threads,
 * and where a window allocated (JFR samples) when the best one did. Prints {@code allocated <bytes>} last.
 */
final class DecodeAllocationProbe {
    private DecodeAllocationProbe() {}

    /**
     * {@code args}: the model file, {@code float} to load Q4_0 for float products (or {@code integer}), and optionally a
     * KV cache type: then the steps run at positions past {@link PagedAttention#SPLIT} (split attention) in that type,
     * and optionally a sparse attention mode for them.
     */
    public static void main(String[] args) throws Exception {
        ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        mx.setThreadAllocatedMemoryEnabled(true);
        if (args.length > 1 && args[1].equals("float")) System.setProperty("stride.q4_0", "float");
        try (Model m = Model.open(Path.of(args[0])); WorkerPool pool = new WorkerPool(2)) {
            Transformer tf = new Transformer(m, pool);
            io.stride.core.kv.KvCacheType type = args.length > 2 ? io.stride.core.kv.KvCacheType.parse(args[2]) : null;
            PagedKvCache cache = type == null ? tf.newCache(16, 64)
                    : tf.newCache(io.stride.core.kv.KvCacheConfig.of(type), 16, (PagedAttention.SPLIT + 256) / 16);
            io.stride.core.sparse.SparseAttention sparse = args.length > 3
                    ? io.stride.core.sparse.SparseAttention.parse(args[3]).forLayers(m.config().layers(), m.config().kvDimK()) : null;
            int base = type == null ? 0 : PagedAttention.SPLIT + 16, span = type == null ? 512 : 160;
            KvSequence seq = cache.newSequence();
            cache.reserve(seq, base + span);
            Batch b = new Batch();
            float[] logits = new float[m.config().vocab()];
            int[] pos = {0};
            Runnable window = () -> {
                for (int i = 0; i < 32; i++, pos[0]++) {
                    b.clear();
                    b.add((pos[0] * 31) % m.config().vocab(), base + pos[0] % span, seq, true);
                    b.setSparse(0, sparse);
                    tf.forward(b, cache, logits);
                }
            };
            long[] ids = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t == Thread.currentThread() || t.getName().startsWith("stride-worker"))
                    .mapToLong(Thread::threadId).toArray();
            long best = Long.MAX_VALUE;
            // warm up (JIT), then measure windows until one allocates nothing (C2 may take a few hundred steps to
            // compile every kernel of a small model, on a busy machine); the best window must be allocation-free
            for (int round = 0; round < 400 && best != 0; round++) {
                long before = allocated(mx, ids);
                window.run();
                long after = allocated(mx, ids);
                if (round >= 20) best = Math.min(best, after - before);
            }
            if (best != 0) {
                // enough windows for some MiB of allocation: JFR samples allocations when a thread takes a new buffer
                long windows = Math.max(1, Math.min(256, (8L << 20) / best));
                System.out.println("where:\n" + AllocationSites.sample(() -> {
                    for (long w = 0; w < windows; w++) window.run();
                }, 8, 4));
            }
            System.out.println("allocated " + best);
        }
    }

    private static long allocated(ThreadMXBean mx, long[] ids) {
        long total = 0;
        for (long id : ids) {
            total += Math.max(0, mx.getThreadAllocatedBytes(id));
        }
        return total;
    }
}
