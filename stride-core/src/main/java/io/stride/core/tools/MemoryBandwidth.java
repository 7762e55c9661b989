package io.stride.core.tools;

import io.stride.core.parallel.WorkerPool;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Sustained read bandwidth: every worker streams its share of a buffer much larger than the caches with
 * vector loads; the best of several passes is reported.
 */
public final class MemoryBandwidth {
    private static final VectorSpecies<Long> L = LongVector.SPECIES_PREFERRED;

    private MemoryBandwidth() {}

    /** Bytes per second (best pass). */
    public static double measure(WorkerPool pool, long bufferBytes, int passes) {
        if (bufferBytes < (1 << 20)) {
            throw new IllegalArgumentException("buffer must be at least 1 MiB");
        }
        if (passes < 1) {
            throw new IllegalArgumentException("passes must be >= 1");
        }
        long stride = L.vectorByteSize() * 4L;
        long size = bufferBytes / stride * stride;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(size, 64);
            buf.fill((byte) 1);
            long[] sinks = new long[pool.size() * 8];
            double best = 0;
            for (int p = 0; p < passes + 1; p++) {
                long t0 = System.nanoTime();
                pool.run((w, n) -> {
                    long chunks = size / stride;
                    long from = chunks * w / n * stride;
                    long to = chunks * (w + 1) / n * stride;
                    LongVector a0 = LongVector.zero(L), a1 = LongVector.zero(L), a2 = LongVector.zero(L), a3 = LongVector.zero(L);
                    int vb = L.vectorByteSize();
                    for (long o = from; o < to; o += stride) {
                        a0 = a0.add(LongVector.fromMemorySegment(L, buf, o, ByteOrder.LITTLE_ENDIAN));
                        a1 = a1.add(LongVector.fromMemorySegment(L, buf, o + vb, ByteOrder.LITTLE_ENDIAN));
                        a2 = a2.add(LongVector.fromMemorySegment(L, buf, o + 2L * vb, ByteOrder.LITTLE_ENDIAN));
                        a3 = a3.add(LongVector.fromMemorySegment(L, buf, o + 3L * vb, ByteOrder.LITTLE_ENDIAN));
                    }
                    sinks[w * 8] = a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
                });
                long dt = System.nanoTime() - t0;
                if (p > 0) {
                    best = Math.max(best, size * 1e9 / dt);
                }
            }
            if (sinks[0] == 42) {
                System.err.print(""); // keep the sums alive
            }
            return best;
        }
    }
}
