package io.stride.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** A client on a bare socket, for what HTTP libraries will not send: broken framing, slow or abandoned bodies. */
final class RawHttp implements AutoCloseable {
    final Socket socket;

    RawHttp(int port) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(20_000);
    }

    RawHttp send(String text) throws IOException {
        return send(text.getBytes(StandardCharsets.UTF_8));
    }

    RawHttp send(byte[] bytes) throws IOException {
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
        return this;
    }

    static String post(String path, String body, String... headers) {
        StringBuilder sb = new StringBuilder("POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n");
        for (String h : headers) sb.append(h).append("\r\n");
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        return sb.append("Content-Length: ").append(b.length).append("\r\n\r\n").append(body).toString();
    }

    /** Everything the server sends until it closes the connection or goes quiet for {@code quietMillis}. */
    String readAll(int quietMillis) throws IOException {
        socket.setSoTimeout(quietMillis);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        InputStream in = socket.getInputStream();
        byte[] buf = new byte[8192];
        try {
            int n;
            while ((n = in.read(buf)) >= 0) out.write(buf, 0, n);
        } catch (SocketTimeoutException e) {
            // quiet: return what came
        } catch (IOException e) {
            // reset after the answer: return what came
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Whether the server has closed the connection (read returns end of stream within {@code millis}). */
    boolean closedWithin(int millis) throws IOException {
        socket.setSoTimeout(millis);
        try {
            InputStream in = socket.getInputStream();
            byte[] buf = new byte[8192];
            while (in.read(buf) >= 0) {
                // drain whatever answer came first
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    static int status(String response) {
        if (!response.startsWith("HTTP/1.1 ")) return -1;
        return Integer.parseInt(response.substring(9, 12));
    }

    static String body(String response) {
        int i = response.indexOf("\r\n\r\n");
        return i < 0 ? "" : response.substring(i + 4);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
