package io.stride.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.SharedData;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.stride.cli.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

/** ./stride serve started from the command line, driven by ./stride bench-serve. */
class ServeCommandTest {
    @Test
    void serveThenBenchServe() throws Exception {
        CompletableFuture<ServeCommand.Running> started = new CompletableFuture<>();
        ServeCommand.onStarted = started::complete;
        CompletableFuture<CliTest.Run> server = CompletableFuture.supplyAsync(() -> run("serve", "-m",
                SharedData.model("javatiny-26m-f16.gguf").toString(), "--port", "0", "--kv-blocks", "256", "--alias", "jt"));
        try {
            ServeCommand.Running r = started.get(60, TimeUnit.SECONDS);
            CliTest.Run b = run("bench-serve", "--url", "http://127.0.0.1:" + r.port(), "--model", "jt", "--workload",
                    SharedData.require("workloads/java-dev.jsonl").toString(), "--requests", "6", "--concurrency", "3",
                    "--max-tokens", "8", "--json");
            assertThat(b.code()).as(b.out() + b.err()).isZero();
            JsonNode j = new ObjectMapper().readTree(b.out().strip());
            assertThat(j.get("requests").asInt()).isEqualTo(6);
            assertThat(j.get("failed").asInt()).isZero();
            assertThat(j.get("output_tokens").asInt()).isBetween(6, 48);
            assertThat(j.get("ttft").get("p50").asDouble()).isPositive();
            assertThat(j.get("goodput_fraction").asDouble()).isBetween(0.0, 1.0);
            assertThat(j.get("samples")).hasSize(6);
            // /tokenize and /detokenize agree with the CLI's tokenizer
            String text = "static <T> List<T> copy(List<? extends T> src) { return new ArrayList<>(src); }";
            CliTest.Run ids = run("tokenize", "-m", SharedData.model("javatiny-26m-f16.gguf").toString(), "-p", text, "--ids");
            var http = java.net.http.HttpClient.newHttpClient();
            String tok = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + r.port() + "/tokenize"))
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(new ObjectMapper().writeValueAsString(
                            java.util.Map.of("content", text, "add_special", true)))).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            JsonNode served = new ObjectMapper().readTree(tok).get("tokens");
            assertThat(served).isEqualTo(new ObjectMapper().readTree(ids.out().strip()));
            String detok = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + r.port() + "/detokenize"))
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"tokens\":" + served + "}")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            assertThat(new ObjectMapper().readTree(detok).get("content").asText()).isEqualTo(text);
            r.stop().run();
            assertThat(server.get(30, TimeUnit.SECONDS).code()).isZero();
        } finally {
            ServeCommand.onStarted = null;
        }
    }

    @Test
    void badServeArguments() {
        String m = SharedData.model("stories260K.gguf").toString();
        CliTest.Run r = run("serve", "-m", m, "--kv-blocks", "4", "--kv-memory", "1G");
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("not both");
        CliTest.Run p = run("serve", "-m", m, "--port", "70000");
        assertThat(p.code()).isNotZero();
        assertThat(p.err()).contains("port");
        CliTest.Run b = run("bench-serve", "--workload", "/nonexistent.jsonl");
        assertThat(b.code()).isNotZero();
        assertThat(b.err()).contains("not found");
    }
}
