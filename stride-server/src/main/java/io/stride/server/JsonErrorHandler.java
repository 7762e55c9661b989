package io.stride.server;

import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Jetty's own error answers (a request line or headers it cannot parse, a URI or header block too long, an
 * error before any route ran) in the OpenAI error JSON instead of Jetty's HTML page, with Jetty's reason
 * phrase as the message and no stack or internals.
 */
final class JsonErrorHandler extends ErrorHandler {
    private static final HttpField JSON = new HttpField(HttpHeader.CONTENT_TYPE, "application/json");

    static byte[] body(int status, String message) {
        Map<String, Object> err = new LinkedHashMap<>();
        err.put("message", message);
        err.put("type", status < 500 ? "invalid_request_error" : "server_error");
        err.put("param", null);
        err.put("code", null);
        return Json.write(Map.of("error", err));
    }

    private static String describe(int status, String message) {
        String phrase = HttpStatus.getMessage(status);
        return message == null || message.isBlank() || message.equals(phrase) ? phrase : phrase + ": " + message;
    }

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause, Callback callback) {
        response.getHeaders().put(JSON);
        response.write(true, ByteBuffer.wrap(body(code, describe(code, message))), callback);
    }

    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        fields.put(JSON);
        return ByteBuffer.wrap(body(status, describe(status, reason)));
    }
}
