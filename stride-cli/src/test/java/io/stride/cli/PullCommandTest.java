package io.stride.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** `stride pull` against a local server in Hugging Face's URL layout: choice of file, resume after a cut, checksums. */
class PullCommandTest {
    @TempDir
    Path dir;
    HttpServer hub;
    final Map<String, byte[]> files = new ConcurrentHashMap<>();
    final Map<String, String> listedSha = new ConcurrentHashMap<>();
    final List<String> ranges = new CopyOnWriteArrayList<>();
    final AtomicInteger cutsLeft = new AtomicInteger();

    @BeforeEach
    void start() throws IOException {
        hub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hub.createContext("/", this::serve);
        hub.start();
    }

    @AfterEach
    void stop() {
        hub.stop(0);
    }

    String url() {
        return "http://127.0.0.1:" + hub.getAddress().getPort();
    }

    void put(String name, byte[] data, String sha) throws Exception {
        files.put(name, data);
        listedSha.put(name, sha != null ? sha : HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data)));
    }

    private void serve(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        if (path.equals("/api/models/owner/repo/tree/main")) {
            StringBuilder sb = new StringBuilder("[{\"type\":\"file\",\"path\":\"README.md\",\"size\":5}");
            for (var e : files.entrySet()) {
                sb.append(",{\"type\":\"file\",\"path\":\"").append(e.getKey()).append("\",\"size\":").append(e.getValue().length)
                        .append(",\"lfs\":{\"oid\":\"").append(listedSha.get(e.getKey())).append("\",\"size\":").append(e.getValue().length).append("}}");
            }
            reply(ex, 200, sb.append(']').toString().getBytes(StandardCharsets.UTF_8));
            return;
        }
        String prefix = "/owner/repo/resolve/main/";
        if (path.startsWith(prefix) && files.containsKey(path.substring(prefix.length()))) {
            byte[] data = files.get(path.substring(prefix.length()));
            String range = ex.getRequestHeaders().getFirst("Range");
            int from = 0;
            if (range != null) {
                ranges.add(range);
                from = Integer.parseInt(range.replaceAll("bytes=(\\d+)-", "$1"));
            }
            ex.getResponseHeaders().add("Content-Type", "application/octet-stream");
            ex.sendResponseHeaders(range != null ? 206 : 200, data.length - from);
            try (OutputStream out = ex.getResponseBody()) {
                int end = data.length;
                if (cutsLeft.getAndDecrement() > 0) {
                    end = from + (data.length - from) / 3; // a third, then the connection drops
                }
                out.write(data, from, end - from);
                out.flush();
                if (end < data.length) {
                    ex.getHttpContext().getServer(); // keep the exchange from completing normally
                    throw new IOException("cut");
                }
            }
            return;
        }
        reply(ex, 404, "{\"error\":\"not found\"}".getBytes(StandardCharsets.UTF_8));
    }

    private static void reply(HttpExchange ex, int status, byte[] body) throws IOException {
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) b[i] = (byte) r.nextInt(256);
        return b;
    }

    CliTest.Run pull(String ref, String... more) {
        String[] args = new String[6 + more.length];
        args[0] = "pull";
        args[1] = ref;
        args[2] = "--cache-dir";
        args[3] = dir.resolve("cache").toString();
        args[4] = "--hf-endpoint";
        args[5] = url();
        System.arraycopy(more, 0, args, 6, more.length);
        return CliTest.run(args);
    }

    @Test
    void picksTheQuantizationAndResumesAfterACutConnection() throws Exception {
        byte[] q4 = random(3_000_000, 1);
        put("model-Q4_K_M.gguf", q4, null);
        put("model-Q8_0.gguf", random(1000, 2), null);
        put("mmproj-model-f16.gguf", random(1000, 3), null);
        cutsLeft.set(2);
        CliTest.Run r = pull("owner/repo");
        assertThat(r.code()).as(r.err()).isZero();
        Path got = Path.of(r.out().strip());
        assertThat(got.getFileName().toString()).isEqualTo("model-Q4_K_M.gguf");
        assertThat(Files.readAllBytes(got)).isEqualTo(q4);
        assertThat(ranges).hasSize(2).allMatch(h -> h.matches("bytes=[1-9]\\d*-"));
        assertThat(Files.list(got.getParent()).map(p -> p.getFileName().toString())).containsExactly("model-Q4_K_M.gguf");
        // cached: no second download
        int before = ranges.size();
        CliTest.Run again = pull("owner/repo:Q4_K_M");
        assertThat(again.out().strip()).isEqualTo(got.toString());
        assertThat(ranges).hasSize(before);
        CliTest.Run q8 = pull("owner/repo:q8_0");
        assertThat(Path.of(q8.out().strip()).getFileName().toString()).isEqualTo("model-Q8_0.gguf");
    }

    @Test
    void aChecksumMismatchLeavesNothingUnderTheFinalName() throws Exception {
        put("model-Q4_0.gguf", random(100_000, 4), "00".repeat(32));
        CliTest.Run r = pull("owner/repo");
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("checksum mismatch").doesNotContain("\tat ");
        Path folder = dir.resolve("cache/owner/repo/main");
        assertThat(Files.exists(folder.resolve("model-Q4_0.gguf"))).isFalse();
        assertThat(Files.exists(folder.resolve("model-Q4_0.gguf.part"))).isFalse();
    }

    @Test
    void clearErrorsForMissingThings() throws Exception {
        put("model-Q4_0.gguf", random(10, 5), null);
        assertThat(pull("owner/repo:Q2_K").err()).contains("no GGUF file for Q2_K").contains("model-Q4_0.gguf");
        assertThat(pull("owner/other").err()).contains("no such repository");
        assertThat(pull("not a repo").err()).contains("OWNER/NAME");
        CliTest.Run both = CliTest.run("generate", "-p", "x");
        assertThat(both.err()).contains("-m FILE or as -hf");
    }
}
