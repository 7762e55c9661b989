package io.stride.cli;

import io.stride.core.SharedData;
import io.stride.core.model.Model;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code stride serve} in a process of its own, stopped by SIGTERM as Kubernetes stops it. */
class ServeShutdownTest {
    @Test
    void sigtermDrainsThenExitsZero() throws Exception {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), StrideCli.class.getName(), "serve", "-m",
                SharedData.model("javatiny-26m-f16.gguf").toString(), "--port", "0", "--kv-blocks", "256", "--threads", "2",
                "--shutdown-timeout", "2"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        StringBuilder log = new StringBuilder();
        CompletableFuture<Integer> port = new CompletableFuture<>();
        Thread reader = Thread.ofPlatform().daemon(true).start(() -> {
            Pattern serving = Pattern.compile("serving \\S+ on http://[^:]+:(\\d+)");
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (log) {
                        log.append(line).append('\n');
                    }
                    Matcher m = serving.matcher(line);
                    if (m.find()) port.complete(Integer.parseInt(m.group(1)));
                }
            } catch (Exception e) {
                port.completeExceptionally(e);
            }
            port.completeExceptionally(new IllegalStateException("server exited"));
        });
        try {
            int bound = port.get(90, TimeUnit.SECONDS);
            HttpClient http = HttpClient.newHttpClient();
            // the JIT was warmed before the server opened: the first request is not much slower than the next
            double first = timed(http, bound, "public class Alpha {");
            double second = timed(http, bound, "public class Omega {");
            assertThat(first).as("first request %.3f s, second %.3f s", first, second).isLessThan(5 * second);
            String body = "{\"prompt\":\"class A {\",\"max_tokens\":1800,\"stream\":true,\"temperature\":0.9,\"seed\":1,\"logit_bias\":"
                    + noEndBias() + "}";
            CompletableFuture<HttpResponse<String>> stream = http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + bound
                    + "/v1/completions")).POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            Thread.sleep(1500);
            p.toHandle().destroy(); // SIGTERM (Process.destroy would also close the pipe the log comes through)
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            reader.join(5000);
            String out;
            synchronized (log) {
                out = log.toString();
            }
            assertThat(p.exitValue()).as(out).isZero();
            assertThat(out).contains("SIGTERM").contains("ended by the shutdown").contains("warming up").contains("ready in");
            String events = stream.get(10, TimeUnit.SECONDS).body();
            assertThat(events).contains("shutting_down").endsWith("data: [DONE]\n\n");
        } finally {
            p.destroyForcibly();
        }
    }

    static double timed(HttpClient http, int port, String prompt) throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"" + prompt + "\",\"max_tokens\":32,\"temperature\":0,\"logit_bias\":"
                        + noEndBias() + "}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return (System.nanoTime() - t0) / 1e9;
    }

    /** logit_bias JSON keeping javatiny's end-of-generation tokens out: the stream runs until the shutdown ends it. */
    static String noEndBias() {
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf"))) {
            var v = m.tokenizer().vocabulary();
            StringBuilder sb = new StringBuilder("{");
            for (int id = 0; id < m.config().vocab(); id++) {
                if (v.isEndOfGeneration(id)) sb.append(sb.length() > 1 ? "," : "").append('"').append(id).append("\":-100");
            }
            return sb.append('}').toString();
        }
    }

    @Test
    void anAddressOfAnotherMachineIsNamedAsSuch() {
        CliTest.Run r = CliTest.run("serve", "-m", SharedData.model("stories260K.gguf").toString(), "--host", "8.8.8.8", "--port", "0");
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("cannot listen on 8.8.8.8").contains("not one of this machine's").doesNotContain("already in use");
    }
}
