package io.stride.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.stride.cli.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

/** bench, membw, synth and quantize: working runs and clear errors for bad arguments. */
class ToolCommandsTest {
    @TempDir
    Path dir;

    @Test
    void benchPrintsJsonPerTest() throws Exception {
        CliTest.Run r = run("bench", "-m", SharedData.model("stories260K.gguf").toString(), "-p", "16", "-n", "8", "-r", "2", "-t", "1", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        String[] lines = r.out().strip().split("\n");
        assertThat(lines).hasSize(2);
        JsonNode pp = new ObjectMapper().readTree(lines[0]);
        JsonNode tg = new ObjectMapper().readTree(lines[1]);
        assertThat(pp.get("test").asText()).isEqualTo("pp16");
        assertThat(tg.get("test").asText()).isEqualTo("tg8");
        for (JsonNode j : new JsonNode[]{pp, tg}) {
            assertThat(j.get("threads").asInt()).isEqualTo(1);
            assertThat(j.get("tokens_per_s").asDouble()).isPositive();
            assertThat(j.has("stddev")).isTrue();
            assertThat(j.has("gb_per_s")).isTrue();
        }
        assertThat(tg.get("gb_per_s").asDouble()).isPositive();
    }

    @Test
    void benchRunsTheMatrixOfThreadsDepthsAndSizes() throws Exception {
        CliTest.Run r = run("bench", "-m", SharedData.model("stories260K.gguf").toString(), "-p", "8,16", "-n", "4", "-d", "0,8",
                "-r", "1", "-t", "1,2", "--output", "json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode all = new ObjectMapper().readTree(r.out());
        List<String> tests = new ArrayList<>();
        all.forEach(j -> tests.add(j.get("threads").asInt() + " " + j.get("test").asText()));
        assertThat(tests).containsExactly("1 pp8", "1 pp16", "1 tg4", "1 pp8 @ d8", "1 pp16 @ d8", "1 tg4 @ d8",
                "2 pp8", "2 pp16", "2 tg4", "2 pp8 @ d8", "2 pp16 @ d8", "2 tg4 @ d8");
        all.forEach(j -> assertThat(j.get("tokens_per_s").asDouble()).isPositive());
    }

    @Test
    void benchRunsEveryCacheTypeAskedForAndNamesBadOnes() throws Exception {
        Path f = dir.resolve("tiny.gguf");
        CliTest.Run s = run("synth", "--preset", "test-tiny", "--type", "Q8_0", "-o", f.toString());
        assertThat(s.code()).as(s.err()).isZero();
        CliTest.Run r = run("bench", "-m", f.toString(), "-p", "0", "-n", "4", "-d", "40", "-r", "1", "-t", "1", "-ctk", "f16,q8_0",
                "-ctv", "q4_0", "--output", "json");
        assertThat(r.code()).as(r.err()).isZero();
        List<String> rows = new ArrayList<>();
        new ObjectMapper().readTree(r.out()).forEach(j -> rows.add(j.get("type_k").asText() + "/" + j.get("type_v").asText()
                + " " + j.get("test").asText()));
        assertThat(rows).containsExactly("f16/q4_0 tg4 @ d40", "q8_0/q4_0 tg4 @ d40");
        Path text = dir.resolve("text.txt");
        Files.writeString(text, "public class A { int x; }\n");
        CliTest.Run bad = run("perplexity", "-m", f.toString(), "-f", text.toString(), "-ctk", "q5_1");
        assertThat(bad.code()).isNotZero();
        assertThat(bad.err()).contains("unknown KV cache type 'q5_1'").contains("f16, bf16, q8_0, q4_0");
        // stories260K has heads of 8 values: no 32-value blocks fit
        CliTest.Run heads = run("generate", "-m", SharedData.model("stories260K.gguf").toString(), "-p", "hi", "-n", "2", "-ctv", "q8_0");
        assertThat(heads.code()).isNotZero();
        assertThat(heads.err()).contains("cache type v q8_0 needs a head size divisible by 32; this model's is 8");
        CliTest.Run two = run("generate", "-m", f.toString(), "-p", "hi", "-n", "2", "-ctk", "f16,q8_0");
        assertThat(two.code()).isNotZero();
        assertThat(two.err()).contains("give one type to --cache-type-k");
        CliTest.Run share = run("bench", "-m", f.toString(), "-p", "0", "-n", "4", "--kv-key-share", "0.5");
        assertThat(share.code()).isNotZero();
        assertThat(share.err()).contains("--kv-key-share applies to serve and generate");
        CliTest.Run zero = run("generate", "-m", f.toString(), "-p", "hi", "-n", "2", "--kv-key-share", "0");
        assertThat(zero.code()).isNotZero();
        assertThat(zero.err()).contains("--kv-key-share must be in (0, 1]");
    }

    @Test
    void sparseAttentionReachesBenchAndPerplexityAndBadModesAreNamed() throws Exception {
        Path f = dir.resolve("tiny-sparse.gguf");
        CliTest.Run s = run("synth", "--preset", "test-tiny", "--type", "Q8_0", "-o", f.toString());
        assertThat(s.code()).as(s.err()).isZero();
        CliTest.Run r = run("bench", "-m", f.toString(), "-p", "0", "-n", "4", "-d", "40", "-r", "1", "-t", "1",
                "--sparse-attention", "none", "--sparse-attention", "tidal:budget=8", "--output", "json");
        assertThat(r.code()).as(r.err()).isZero();
        List<String> rows = new ArrayList<>();
        new ObjectMapper().readTree(r.out()).forEach(j -> rows.add(j.get("sparse_attention").asText() + " " + j.get("test").asText()));
        assertThat(rows).hasSize(2);
        assertThat(rows.get(0)).isEqualTo("none tg4 @ d40");
        assertThat(rows.get(1)).startsWith("tidal:budget=8,select=").endsWith(" tg4 @ d40");
        Path text = dir.resolve("sparse.txt");
        Files.writeString(text, "public class A { int x; int y; int z; void f() { x = y + z; } }\n");
        CliTest.Run ppl = run("perplexity", "-m", f.toString(), "-f", text.toString(), "--score-from", "4",
                "--sparse-attention", "tidal:budget=4,sink=1,window=1");
        assertThat(ppl.code()).as(ppl.err()).isZero();
        CliTest.Run bad = run("perplexity", "-m", f.toString(), "-f", text.toString(), "--sparse-attention", "quest");
        assertThat(bad.code()).isNotZero();
        assertThat(bad.err()).contains("--sparse-attention").contains("'quest'");
        CliTest.Run layer = run("generate", "-m", f.toString(), "-p", "hi", "-n", "2", "--sparse-attention", "tidal:select=9");
        assertThat(layer.code()).isNotZero();
        assertThat(layer.err()).contains("select=9");
    }

    @Test
    void membwReportsBandwidth() throws Exception {
        CliTest.Run r = run("membw", "-t", "1", "--size-mib", "64", "--passes", "2", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out().strip());
        assertThat(j.get("gb_per_s").asDouble()).isPositive();
    }

    @Test
    void synthThenQuantizeThenGenerate() throws Exception {
        Path f16 = dir.resolve("tiny-f16.gguf");
        CliTest.Run s = run("synth", "--preset", "test-tiny", "--type", "F16", "-o", f16.toString());
        assertThat(s.code()).as(s.err()).isZero();
        Path q = dir.resolve("tiny-q4_0.gguf");
        CliTest.Run qr = run("quantize", f16.toString(), q.toString(), "Q4_0");
        assertThat(qr.code()).as(qr.err()).isZero();
        assertThat(Files.size(q)).isLessThan(Files.size(f16));
        CliTest.Run g = run("generate", "-m", q.toString(), "-p", "hello", "-n", "4", "--temp", "0");
        assertThat(g.code()).as(g.err()).isZero();
        CliTest.Run i = run("info", q.toString());
        assertThat(i.out()).contains("Q4_0").contains("chat template:   absent");
    }

    @Test
    void synthEmbedsAChatTemplate() throws Exception {
        Path f = dir.resolve("tiny-qwen-template.gguf");
        CliTest.Run s = run("synth", "--preset", "test-tiny", "--type", "F32", "--chat-template", "qwen-2.5", "-o", f.toString());
        assertThat(s.code()).as(s.err()).isZero();
        assertThat(run("info", f.toString()).out()).contains("chat template:   present");
        Path t = dir.resolve("t.jinja");
        Files.writeString(t, "{% for m in messages %}{{ m.content }}{% endfor %}");
        CliTest.Run own = run("synth", "--preset", "test-tiny", "--type", "F32", "--chat-template", t.toString(), "-o", f.toString());
        assertThat(own.code()).as(own.err()).isZero();
        assertBad(run("synth", "--preset", "test-tiny", "--chat-template", "nosuch", "-o", f.toString()), "bundled template");
    }

    @Test
    void benchSpecComparesWithAndWithoutSpeculation() throws Exception {
        CliTest.Run r = run("bench-spec", "-m", SharedData.model("javatiny-26m-f16.gguf").toString(), "--workload",
                SharedData.require("workloads/java-dev.jsonl").toString(), "--limit", "1", "-n", "24", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        String[] lines = r.out().strip().split("\n");
        assertThat(lines).hasSize(2);
        for (String line : lines) {
            JsonNode j = new ObjectMapper().readTree(line);
            assertThat(j.get("kind").asText()).isIn("complete", "edit");
            assertThat(j.get("identical").asBoolean()).isTrue();
            assertThat(j.get("tokens_per_s").asDouble()).isPositive();
            assertThat(j.get("baseline_tokens_per_s").asDouble()).isPositive();
        }
        assertThat(run("bench-spec", "-m", SharedData.model("javatiny-26m-f16.gguf").toString(), "--workload",
                SharedData.require("workloads/java-dev.jsonl").toString(), "--spec", "medusa:x.gguf").err()).contains("drafter file not found");
    }

    @Test
    void badArgumentsGiveClearErrors() {
        String m = SharedData.model("stories260K.gguf").toString();
        assertBad(run("bench", "-m", m, "-r", "0"), "-r");
        assertBad(run("bench", "-m", m, "-p", "0", "-n", "0"), "-p");
        assertBad(run("bench", "-m", m, "-t", "0"), "threads");
        assertBad(run("bench", "-m", m, "-d", "-1"), "-d");
        assertBad(run("bench", "-m", m, "--output", "csv"), "--output");
        assertBad(run("generate", "-m", m, "-p", "x", "-t", "1,2"), "one thread count");
        assertBad(run("bench", "-m", dir.resolve("missing.gguf").toString()), "no such file");
        assertBad(run("membw", "--size-mib", "0"), "size");
        assertBad(run("membw", "-t", "-3"), "threads");
        assertBad(run("synth", "--preset", "gpt-17", "-o", dir.resolve("x.gguf").toString()), "unknown preset");
        assertBad(run("synth", "--preset", "test-tiny", "--type", "Q3_K", "-o", dir.resolve("x.gguf").toString()), "unknown quantization type");
        assertBad(run("quantize", m, dir.resolve("y.gguf").toString(), "Q9"), "unknown quantization type");
        assertBad(run("quantize", dir.resolve("none.gguf").toString(), dir.resolve("y.gguf").toString(), "Q8_0"), "no such file");
        assertBad(run("quantize", m, m, "Q8_0"), "must differ");
        assertBad(run("bench", "-m", m, "-p", "abc"), "abc");
    }

    private static void assertBad(CliTest.Run r, String mention) {
        assertThat(r.code()).as(r.out() + r.err()).isNotZero();
        assertThat(r.err()).contains(mention).doesNotContain("\tat ");
    }
}
