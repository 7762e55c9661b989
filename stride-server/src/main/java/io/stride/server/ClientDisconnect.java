package io.stride.server;

import io.javalin.http.Context;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.AbstractEndPoint;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Tells a request's handler that its client went away while the answer is being generated, before anything
 * is written (a non-streaming request, or a stream still waiting for its first token). Neither Jetty nor TCP
 * says so unless somebody reads: once the body is read, this watch asks the connection's endpoint to report
 * readability, and a read that then finds the end of the stream (or an error) means the client closed.
 * <p>
 * An HTTP/1.1 client that pipelines its next request behind this one makes the socket readable too; its bytes
 * would be consumed here, so the connection is marked to close after this answer (pipelining is off in every
 * common client). Idle timeouts while generating are ignored: a long non-streaming answer is not idle.
 */
final class ClientDisconnect implements AutoCloseable {
    private final EndPoint endPoint;
    private final Runnable onGone;
    private final Context ctx;
    private final AtomicBoolean done = new AtomicBoolean();
    private volatile boolean gone;

    private ClientDisconnect(Context ctx, EndPoint endPoint, Runnable onGone) {
        this.ctx = ctx;
        this.endPoint = endPoint;
        this.onGone = onGone;
    }

    /** Starts watching; {@code onGone} runs once (on a Jetty thread) if the client disconnects before {@link #close}. */
    static ClientDisconnect watch(Context ctx, Runnable onGone) {
        EndPoint ep = null;
        try {
            ServletContextRequest r = ServletContextRequest.getServletContextRequest(ctx.req());
            r.addIdleTimeoutListener(t -> false);
            ep = r.getConnectionMetaData().getConnection().getEndPoint();
        } catch (RuntimeException e) {
            // not a Jetty HTTP/1 request: nothing to watch
        }
        ClientDisconnect w = new ClientDisconnect(ctx, ep, onGone);
        w.arm();
        return w;
    }

    boolean gone() {
        return gone;
    }

    private void arm() {
        if (endPoint == null || done.get()) {
            return;
        }
        endPoint.tryFillInterested(new Callback() {
            @Override
            public void succeeded() {
                probe();
            }

            @Override
            public void failed(Throwable x) {
                if (x instanceof TimeoutException) {
                    arm();
                } else if (!(x instanceof CancellationException)) {
                    disconnected();
                }
            }

            @Override
            public InvocationType getInvocationType() {
                return InvocationType.NON_BLOCKING;
            }
        });
    }

    private void probe() {
        if (done.get()) {
            return;
        }
        ByteBuffer buf = BufferUtil.allocate(512);
        try {
            int n = endPoint.fill(buf);
            if (n < 0) {
                disconnected();
            } else if (n > 0) {
                ctx.header("Connection", "close"); // a pipelined request's bytes were consumed: end the connection after this answer
            } else {
                arm();
            }
        } catch (IOException | RuntimeException e) {
            disconnected();
        }
    }

    private void disconnected() {
        if (!done.get()) {
            gone = true;
            onGone.run();
        }
    }

    /** Stops watching; the connection is handed back to Jetty for its next request. Call before answering. */
    @Override
    public void close() {
        if (done.compareAndSet(false, true) && endPoint instanceof AbstractEndPoint ae && ae.isFillInterested()) {
            ae.getFillInterest().onFail(new CancellationException("answer complete"));
        }
    }
}
