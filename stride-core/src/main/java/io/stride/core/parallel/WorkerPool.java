package io.stride.core.parallel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of worker threads that run one data-parallel task at a time. The caller takes part as worker 0.
 * Workers spin briefly, then park; completion is a counter the caller spins on. No allocation per task.
 */
public final class WorkerPool implements AutoCloseable {
    /** One parallel task: worker {@code w} of {@code n} does its static share. */
    @FunctionalInterface
    public interface Task {
        void run(int w, int n);
    }

    private final int size;
    private final Thread[] threads;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile Task task;
    private volatile int generation;
    private volatile boolean closed;
    private volatile Throwable failure;

    public WorkerPool(int size) {
        if (size < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + size);
        }
        this.size = size;
        this.threads = new Thread[size - 1];
        for (int i = 1; i < size; i++) {
            final int w = i;
            Thread t = new Thread(() -> loop(w), "stride-worker-" + i);
            t.setDaemon(true);
            threads[i - 1] = t;
            t.start();
        }
    }

    public int size() {
        return size;
    }

    /** The default: one worker per available core. */
    public static int defaultThreads() {
        return Math.max(1, Runtime.getRuntime().availableProcessors());
    }

    /** Runs {@code t} on all workers and returns when all have finished. Not reentrant. */
    public void run(Task t) {
        if (size == 1) {
            t.run(0, 1);
            return;
        }
        task = t;
        failure = null;
        pending.set(size - 1);
        generation++;
        for (Thread th : threads) {
            LockSupport.unpark(th);
        }
        Throwable own = null;
        try {
            t.run(0, size);
        } catch (Throwable e) {
            own = e;
        }
        int spins = 0;
        while (pending.get() != 0) {
            if (++spins < 20_000) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
        task = null;
        Throwable f = own != null ? own : failure;
        if (f != null) {
            if (f instanceof RuntimeException re) throw re;
            if (f instanceof Error er) throw er;
            throw new RuntimeException(f);
        }
    }

    private void loop(int w) {
        int seen = 0;
        while (!closed) {
            int spins = 0;
            while (generation == seen && !closed) {
                if (++spins < 2_000) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(this, 200_000);
                }
            }
            if (closed) {
                return;
            }
            seen = generation;
            try {
                task.run(w, size);
            } catch (Throwable e) {
                failure = e;
            } finally {
                pending.decrementAndGet();
            }
        }
    }

    /** Start of worker {@code w}'s share of {@code n} items split into {@code parts} contiguous ranges. */
    public static int split(int n, int w, int parts) {
        return (int) ((long) n * w / parts);
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : threads) {
            LockSupport.unpark(t);
        }
    }
}
