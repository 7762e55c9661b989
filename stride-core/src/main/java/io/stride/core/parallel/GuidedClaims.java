package io.stride.core.parallel;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Guided self-scheduling of the items {@code [0, total)} among a pool's workers: each claim takes
 * max(min, remaining / (2·workers)) items, so the first claims are large (few atomic operations per product) and the
 * last ones small, and a worker slowed by the machine (a core shared with other work) takes fewer items instead of
 * keeping the others waiting at the end. A claim's end is a function of its start alone, so a worker recomputes it.
 * Reset by the caller before {@link WorkerPool#run}, whose start publishes the fields to the workers.
 */
public final class GuidedClaims {
    private final AtomicInteger next = new AtomicInteger();
    private int total, workers, min;

    /** Starts a new range of {@code total} items for {@code workers} workers, at least {@code min} (≥ 1) items per claim. */
    public void reset(int total, int workers, int min) {
        if (min < 1 || workers < 1) throw new IllegalArgumentException("min and workers must be >= 1");
        this.total = total;
        this.workers = workers;
        this.min = min;
        next.set(0);
    }

    /** The first item of the next claim, or -1 when none is left; the claim ends at {@link #end}. */
    public int claim() {
        for (;;) {
            int cur = next.get();
            if (cur >= total) return -1;
            if (next.compareAndSet(cur, end(cur))) return cur;
        }
    }

    /** The end (exclusive) of the claim that starts at {@code start}. */
    public int end(int start) {
        return Math.min(total, start + Math.max(min, (total - start) / (2 * workers)));
    }
}
