package io.stride.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A load generator for any OpenAI-compatible server: streaming /v1/completions requests at a fixed concurrency
 * or with Poisson arrivals, timing each token as it arrives.
 */
final class ServeLoadGenerator {
    /** One request's timings (seconds from its start). */
    record Sample(String id, boolean ok, String error, double ttft, double e2e, int outputTokens, List<Double> itl) {
        /** Time per output token after the first. */
        double tpot() {
            return outputTokens > 1 ? (e2e - ttft) / (outputTokens - 1) : 0;
        }
    }

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).version(HttpClient.Version.HTTP_1_1).build();
    private final ObjectMapper json = new ObjectMapper();
    private final String url;
    private final String model;
    private final String apiKey;
    private final int maxTokens;

    ServeLoadGenerator(String url, String model, String apiKey, int maxTokens) {
        this.url = url.replaceAll("/+$", "");
        this.model = model;
        this.apiKey = apiKey;
        this.maxTokens = maxTokens;
    }

    List<Sample> run(List<WorkloadFile.Row> rows, int requests, int concurrency, double rate, long seed) throws Exception {
        List<Sample> out = Collections.synchronizedList(new ArrayList<>());
        try (ExecutorService exec = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> futures = new ArrayList<>();
            if (rate > 0) {
                SplittableRandom r = new SplittableRandom(seed);
                long start = System.nanoTime();
                double t = 0;
                for (int i = 0; i < requests; i++) {
                    t += -Math.log(1 - r.nextDouble()) / rate;
                    long wait = start + (long) (t * 1e9) - System.nanoTime();
                    if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    WorkloadFile.Row row = rows.get(i % rows.size());
                    futures.add(exec.submit(() -> out.add(one(row))));
                }
            } else {
                AtomicInteger next = new AtomicInteger();
                for (int w = 0; w < concurrency; w++) {
                    futures.add(exec.submit(() -> {
                        int i;
                        while ((i = next.getAndIncrement()) < requests) {
                            out.add(one(rows.get(i % rows.size())));
                        }
                    }));
                }
            }
            for (Future<?> f : futures) f.get();
        }
        return out;
    }

    private Sample one(WorkloadFile.Row row) {
        Map<String, Object> body = new LinkedHashMap<>();
        if (model != null) body.put("model", model);
        body.put("prompt", row.prompt());
        body.put("max_tokens", maxTokens > 0 ? maxTokens : row.maxTokens());
        body.put("temperature", 0);
        body.put("stream", true);
        body.put("stream_options", Map.of("include_usage", true));
        long t0 = System.nanoTime();
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + "/v1/completions"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(json.writeValueAsBytes(body)));
            if (apiKey != null) b.header("Authorization", "Bearer " + apiKey);
            HttpResponse<Stream<String>> resp = http.send(b.build(), HttpResponse.BodyHandlers.ofLines());
            if (resp.statusCode() != 200) {
                String msg = String.join("\n", resp.body().toList());
                return new Sample(row.id(), false, "HTTP " + resp.statusCode() + ": " + msg, 0, (System.nanoTime() - t0) / 1e9, 0, List.of());
            }
            double ttft = -1;
            double last = 0;
            int chunks = 0;
            int usageTokens = -1;
            List<Double> itl = new ArrayList<>();
            for (String line : (Iterable<String>) resp.body()::iterator) {
                if (!line.startsWith("data: ")) continue;
                String data = line.substring(6).trim();
                if (data.equals("[DONE]")) break;
                JsonNode n = json.readTree(data);
                if (n.has("error")) {
                    return new Sample(row.id(), false, n.get("error").toString(), 0, (System.nanoTime() - t0) / 1e9, 0, List.of());
                }
                if (n.path("usage").isObject()) {
                    usageTokens = n.path("usage").path("completion_tokens").asInt();
                }
                JsonNode choices = n.path("choices");
                if (choices.isArray() && !choices.isEmpty() && !choices.get(0).path("text").asText("").isEmpty()) {
                    double now = (System.nanoTime() - t0) / 1e9;
                    if (ttft < 0) {
                        ttft = now;
                    } else {
                        itl.add(now - last);
                    }
                    last = now;
                    chunks++;
                }
            }
            double e2e = (System.nanoTime() - t0) / 1e9;
            int tokens = usageTokens >= 0 ? usageTokens : chunks;
            return new Sample(row.id(), true, null, ttft < 0 ? e2e : ttft, e2e, tokens, itl);
        } catch (Exception e) {
            return new Sample(row.id(), false, e.toString(), 0, (System.nanoTime() - t0) / 1e9, 0, List.of());
        }
    }
}
