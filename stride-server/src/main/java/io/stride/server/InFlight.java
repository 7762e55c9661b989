package io.stride.server;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The generation requests being answered, and the drain that ends them at shutdown. Admission and the start
 * of a drain exclude each other, so no request slips in after the drain has counted what is left.
 */
public final class InFlight {
    /** What a drain did: requests that finished on their own, and requests the shutdown ended. */
    public record Report(int finished, int ended) {}

    /** Work the server is answering, which a shutdown can end. */
    interface Call {
        /** Ends the work now; its handler answers with {@code message}. */
        void abort(String message);
    }

    private final Set<Call> calls = new HashSet<>();
    private volatile boolean draining;

    /** Registers a call; throws a 503 once the drain has begun. */
    synchronized void admit(Call call) {
        if (draining) {
            throw StrideServer.shuttingDown();
        }
        calls.add(call);
    }

    synchronized void remove(Call call) {
        calls.remove(call);
        notifyAll();
    }

    /**
     * Removes {@code call} once its answer has been sent to the end (Jetty completes a response after the handler
     * returns): a drain that sees no calls left may stop the server without cutting an answer short.
     */
    void removeWhenSent(io.javalin.http.Context ctx, Call call) {
        try {
            org.eclipse.jetty.server.Request r = org.eclipse.jetty.ee10.servlet.ServletContextRequest.getServletContextRequest(ctx.req());
            org.eclipse.jetty.server.Request.addCompletionListener(r, failure -> remove(call));
        } catch (RuntimeException e) {
            remove(call); // not a Jetty request: the handler's return is the best there is
        }
    }

    public synchronized int size() {
        return calls.size();
    }

    public boolean draining() {
        return draining;
    }

    /**
     * Stops admission, waits up to {@code timeout} for the calls in flight, then aborts those left and waits up
     * to {@code grace} for their handlers to write their final answers.
     */
    synchronized Report drain(Duration timeout, Duration grace) {
        draining = true;
        int atStart = calls.size();
        awaitEmpty(timeout);
        List<Call> left = List.copyOf(calls);
        for (Call c : left) {
            c.abort("the server is shutting down; the request was ended before it finished");
        }
        awaitEmpty(grace);
        return new Report(atStart - left.size(), left.size());
    }

    private void awaitEmpty(Duration d) {
        long deadline = System.nanoTime() + d.toNanos();
        try {
            while (!calls.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                wait(Math.max(1, left / 1_000_000));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
