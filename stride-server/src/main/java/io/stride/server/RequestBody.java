package io.stride.server;

import io.javalin.http.Context;
import org.eclipse.jetty.http.HttpException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.TimeoutException;

/**
 * Reads a request body under the server's limits, whatever its framing (Content-Length or chunked): at most
 * {@code maxBytes}, enforced while reading (413 as soon as the limit is passed, before the rest arrives);
 * the whole body within {@code timeout}, and no pause longer than it (the connector's idle timeout): 408.
 * A malformed framing is a 400. Every failure is an {@link ApiException}, so it answers in the API's JSON.
 */
final class RequestBody {
    private RequestBody() {}

    /** A body declared too large but at most this many times the limit is read and dropped before the 413. */
    private static final int DRAIN_FACTOR = 4;

    static byte[] read(Context ctx, long maxBytes, long timeoutNanos) {
        long declared = ctx.req().getContentLengthLong();
        if (declared > maxBytes) {
            // a client that sends its whole body before reading the answer would otherwise meet a closed connection
            // (a broken pipe) instead of the 413; bodies far over the limit are not worth reading
            if (declared <= DRAIN_FACTOR * maxBytes) {
                drain(ctx, System.nanoTime() + timeoutNanos);
            }
            throw tooLarge(ctx, maxBytes);
        }
        long deadline = System.nanoTime() + timeoutNanos;
        ByteArrayOutputStream out = new ByteArrayOutputStream(declared > 0 ? (int) declared : 1024);
        byte[] buf = new byte[16 * 1024];
        try {
            InputStream in = ctx.req().getInputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
                if (out.size() > maxBytes) {
                    throw tooLarge(ctx, maxBytes);
                }
                if (System.nanoTime() - deadline > 0) {
                    throw timedOut(ctx, timeoutNanos);
                }
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof ApiException api) {
                throw api;
            }
            if (causedBy(e, TimeoutException.class)) {
                throw timedOut(ctx, timeoutNanos);
            }
            HttpException http = cause(e, HttpException.class);
            ctx.header("Connection", "close");
            if (http != null && http.getCode() == 413) {
                throw tooLarge(ctx, maxBytes);
            }
            throw ApiException.badRequest(http != null
                    ? "malformed request body: " + (http.getReason() == null ? "bad framing" : http.getReason())
                    : "the request body ended before it was complete", null);
        }
        return out.toByteArray();
    }

    private static void drain(Context ctx, long deadline) {
        byte[] buf = new byte[64 * 1024];
        try {
            InputStream in = ctx.req().getInputStream();
            while (in.read(buf) >= 0 && System.nanoTime() - deadline < 0) {
                // dropped
            }
        } catch (IOException | RuntimeException e) {
            // the 413 goes out (or the client is gone) either way
        }
    }

    private static ApiException tooLarge(Context ctx, long maxBytes) {
        ctx.header("Connection", "close");
        return new ApiException(413, "invalid_request_error", "request body too large (limit " + maxBytes + " bytes)", null,
                "request_too_large");
    }

    private static ApiException timedOut(Context ctx, long timeoutNanos) {
        ctx.header("Connection", "close");
        return new ApiException(408, "invalid_request_error", "the request body did not arrive within "
                + timeoutNanos / 1_000_000 + " ms", null, "request_timeout");
    }

    private static boolean causedBy(Throwable t, Class<? extends Throwable> type) {
        return cause(t, type) != null;
    }

    private static <T> T cause(Throwable t, Class<T> type) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (type.isInstance(c)) {
                return type.cast(c);
            }
        }
        return null;
    }
}
