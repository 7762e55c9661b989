package io.stride.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code stride serve} in a JVM of its own on a free loopback port, with small HTTP helpers (tests of several replicas). */
final class ServeProcess implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    final String name;
    final Process process;
    final int port;
    final String apiKey;
    private final StringBuilder log = new StringBuilder();
    private final Thread reader;

    /** Starts {@code stride serve ARGS --port 0} and waits until it listens. */
    ServeProcess(String name, String apiKey, List<String> args) throws Exception {
        this.name = name;
        this.apiKey = apiKey;
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Xmx1g", "-cp", System.getProperty("java.class.path"), StrideCli.class.getName(), "serve", "--port", "0"));
        cmd.addAll(args);
        if (apiKey != null) {
            cmd.addAll(List.of("--api-key", apiKey));
        }
        process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        CompletableFuture<Integer> bound = new CompletableFuture<>();
        reader = Thread.ofPlatform().daemon(true).start(() -> {
            Pattern serving = Pattern.compile("serving \\S+ on http://[^:]+:(\\d+)");
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (log) {
                        log.append(line).append('\n');
                    }
                    Matcher m = serving.matcher(line);
                    if (m.find()) bound.complete(Integer.parseInt(m.group(1)));
                }
            } catch (Exception e) {
                bound.completeExceptionally(e);
            }
            bound.completeExceptionally(new IllegalStateException(name + " exited:\n" + log()));
        });
        port = bound.get(120, TimeUnit.SECONDS);
    }

    String log() {
        synchronized (log) {
            return log.toString();
        }
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    HttpResponse<String> post(String path, Object body, boolean withKey) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url() + path)).timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
        if (withKey && apiKey != null) {
            b.header("Authorization", "Bearer " + apiKey);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A greedy completion: {@code [text, usage]}; fails unless 200. */
    JsonNode complete(Object prompt, int maxTokens, String cacheSalt) throws Exception {
        Map<String, Object> body = new LinkedHashMap<>(Map.of("prompt", prompt, "max_tokens", maxTokens, "temperature", 0));
        if (cacheSalt != null) {
            body.put("cache_salt", cacheSalt);
        }
        HttpResponse<String> r = post("/v1/completions", body, true);
        if (r.statusCode() != 200) {
            throw new AssertionError(name + ": HTTP " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body());
    }

    static String text(JsonNode completion) {
        return completion.get("choices").get(0).get("text").asText();
    }

    static int cachedTokens(JsonNode completion) {
        return completion.get("usage").get("prompt_tokens_details").get("cached_tokens").asInt();
    }

    /** The value of an unlabelled Prometheus sample of this server's /metrics (0 when absent). */
    double metric(String sample) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url() + "/metrics")).GET();
        if (apiKey != null) {
            b.header("Authorization", "Bearer " + apiKey);
        }
        String text = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString()).body();
        for (String line : text.split("\n")) {
            if (line.startsWith(sample + " ")) {
                return Double.parseDouble(line.substring(sample.length() + 1).trim());
            }
        }
        return 0;
    }

    /** SIGTERM, as Kubernetes stops a pod; waits for the exit and the whole log, and returns the exit status. */
    int terminate(int seconds) throws InterruptedException {
        process.toHandle().destroy(); // (Process.destroy would also close the pipe the log comes through)
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            throw new AssertionError(name + " did not exit within " + seconds + " s:\n" + log());
        }
        reader.join(5000);
        return process.exitValue();
    }

    /** SIGKILL, as a crashed pod. */
    void kill() throws InterruptedException {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            kill();
        }
    }
}
