package io.stride.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Drives the picocli commands in-process, as the launcher does. */
class CliTest {
    @TempDir
    Path dir;

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = StrideCli.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static String stories() {
        return SharedData.model("stories260K.gguf").toString();
    }

    @Test
    void generateGreedyMatchesLlamaCpp() throws Exception {
        JsonNode c = new ObjectMapper().readTree(SharedData.require("reference/stories260K/greedy.json").toFile()).get("cases").get(0);
        Run r = run("generate", "-m", stories(), "-p", c.get("prompt").asText(), "-n", "64", "--temp", "0", "--threads", "2");
        assertThat(r.code).as(r.err).isZero();
        assertThat(r.out.strip()).isEqualTo(c.get("output_stripped").asText());
        assertThat(r.err).contains("tok/s").contains("prompt:").contains("generated:");
    }

    @Test
    void generateSeededIsReproducibleAndStopsOnStopString() {
        Run a = run("generate", "-m", stories(), "-p", "Once upon a time", "-n", "40", "--seed", "5", "--temp", "1");
        Run b = run("generate", "-m", stories(), "-p", "Once upon a time", "-n", "40", "--seed", "5", "--temp", "1");
        assertThat(a.code).isZero();
        assertThat(a.out).isEqualTo(b.out);
        Run s = run("generate", "-m", stories(), "-p", "Once upon a time", "-n", "64", "--temp", "0", "--stop", "Lily");
        assertThat(s.out.strip()).isEqualTo("Once upon a time, there was a little girl named");
        Run quiet = run("generate", "-m", stories(), "-p", "Once upon a time", "-n", "64", "--temp", "0", "--stop", "Lily",
                "--no-display-prompt");
        assertThat(quiet.out.strip()).isEqualTo(", there was a little girl named");
        assertThat(s.err).contains("finish: stop");
    }

    @Test
    void tokenizeIdsFromArgumentAndStdin() {
        Run r = run("tokenize", "-m", stories(), "-p", "Hello world", "--ids");
        assertThat(r.code).isZero();
        assertThat(r.out.strip()).isEqualTo("[1,346,306,414,263,304,341]");
        Run nb = run("tokenize", "-m", stories(), "-p", "Hello world", "--ids", "--no-bos");
        assertThat(nb.out.strip()).isEqualTo("[346,306,414,263,304,341]");
        InputStream old = System.in;
        try {
            System.setIn(new ByteArrayInputStream("a\\nb".getBytes(StandardCharsets.UTF_8)));
            Run in = run("tokenize", "-m", stories(), "--ids", "--no-bos");
            assertThat(in.code).isZero();
            // taken literally: backslash-n is two characters, not a newline
            assertThat(in.out.strip()).isNotEqualTo("[261,13,430]");
        } finally {
            System.setIn(old);
        }
    }

    @Test
    void perplexityPrintsJsonLast() throws Exception {
        Path f = dir.resolve("t.txt");
        Files.writeString(f, "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
                + "One day, she saw a big, red ball. She wanted to play with it, but it was too high.");
        Run r = run("perplexity", "-m", stories(), "-f", f.toString(), "--ctx", "16");
        assertThat(r.code).as(r.err).isZero();
        String[] lines = r.out.strip().split("\n");
        JsonNode j = new ObjectMapper().readTree(lines[lines.length - 1]);
        assertThat(j.get("tokens").asInt()).isGreaterThan(20);
        assertThat(j.get("windows").asInt()).isEqualTo((j.get("tokens").asInt() + 15) / 16);
        assertThat(j.get("ppl").asDouble()).isBetween(1.0, 20.0);
        assertThat(j.get("nll").asDouble()).isCloseTo(Math.log(j.get("ppl").asDouble()), org.assertj.core.data.Offset.offset(1e-9));
    }

    @Test
    void infoDescribesTheModel() {
        Run r = run("info", SharedData.model("random/random-qwen3-qknorm-f32.gguf").toString());
        assertThat(r.code).isZero();
        assertThat(r.out).contains("qwen3").contains("head size k 64").contains("chat template:");
    }

    @Test
    void clearErrorsWithoutStackTraces() throws Exception {
        Run missing = run("generate", "-m", dir.resolve("none.gguf").toString(), "-p", "x");
        assertThat(missing.code).isNotZero();
        assertThat(missing.err).contains("error:").contains("no such file").doesNotContain("\tat ");
        Path junk = dir.resolve("junk.gguf");
        Files.write(junk, "this is not a model at all".getBytes());
        Run bad = run("info", junk.toString());
        assertThat(bad.code).isNotZero();
        assertThat(bad.err).contains("bad magic").contains(junk.toString()).doesNotContain("\tat ");
        Run verbose = run("info", junk.toString(), "--verbose");
        assertThat(verbose.err).contains("\tat ");
        Run badArg = run("generate", "-m", stories(), "-p", "x", "--top-p", "7");
        assertThat(badArg.code).isNotZero();
        assertThat(badArg.err).contains("top-p");
        Run tooLong = run("generate", "-m", stories(), "-p", "Once upon a time ".repeat(100), "-n", "4");
        assertThat(tooLong.code).isNotZero();
        assertThat(tooLong.err).contains("does not fit the context");
        Run unknownOption = run("generate", "--bogus");
        assertThat(unknownOption.code).isNotZero();
        Run bias = run("generate", "-m", stories(), "-p", "x", "--logit-bias", "99999=5");
        assertThat(bias.code).isNotZero();
        assertThat(bias.err).contains("99999").contains("outside the vocabulary");
        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, "");
        Run ppl = run("perplexity", "-m", stories(), "-f", empty.toString());
        assertThat(ppl.code).isNotZero();
        assertThat(ppl.err).contains("error:").contains("at least 2 tokens").doesNotContain("NaN");
    }

    @Test
    void everySubcommandHasHelpAndTyposGetSuggestions() {
        for (String sub : new String[]{"generate", "serve", "tokenize", "perplexity", "info", "bench", "membw", "synth", "quantize",
                "bench-serve", "bench-spec", "pull"}) {
            Run h = run(sub, "--help");
            assertThat(h.code).as(sub + ": " + h.err).isZero();
            assertThat(h.out).as(sub).contains("Usage: stride " + sub).contains("--help");
        }
        Run typo = run("generate", "-m", stories(), "-p", "x", "--tmep", "0");
        assertThat(typo.code).isNotZero();
        assertThat(typo.err).contains("--tmep").contains("did you mean").contains("--temp").contains("stride generate --help");
        assertThat(typo.err.lines().count()).isLessThan(6);
        Run subTypo = run("genrate");
        assertThat(subTypo.err).contains("generate");
    }
}
