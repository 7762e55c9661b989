package io.stride.cli;

import io.stride.core.SharedData;
import io.stride.core.model.Model;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code stride serve} in a process of its own, stopped by SIGTERM as Kubernetes stops it. */
class ServeShutdownTest {
    @Test
    void sigtermDrainsThenExitsZero() throws Exception {
        ServeProcess p = new ServeProcess("serve", null, List.of("-m", SharedData.model("javatiny-26m-f16.gguf").toString(),
                "--kv-blocks", "256", "--threads", "2", "--shutdown-timeout", "2"));
        try {
            int bound = p.port;
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
            int status = p.terminate(60);
            String out = p.log();
            assertThat(status).as(out).isZero();
            assertThat(out).contains("SIGTERM").contains("ended by the shutdown").contains("warming up").contains("ready in");
            String events = stream.get(10, TimeUnit.SECONDS).body();
            assertThat(events).contains("shutting_down").endsWith("data: [DONE]\n\n");
        } finally {
            p.kill();
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
