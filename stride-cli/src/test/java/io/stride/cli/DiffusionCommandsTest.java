package io.stride.cli;

import io.stride.core.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static io.stride.cli.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

/** generate, bench-diffusion and train-filter on a diffusion model, and the errors for options that do not apply. */
class DiffusionCommandsTest {
    static String dllm() {
        return SharedData.model("javatiny-dllm-26m-f16.gguf").toString();
    }

    static String ar() {
        return SharedData.model("javatiny-26m-f16.gguf").toString();
    }

    @Test
    void generateDecodesADiffusionModelAndRefusesWhatDoesNotApply(@TempDir Path dir) throws Exception {
        CliTest.Run r = run("generate", "-m", dllm(), "-p", "public int size() {", "-n", "24", "--temp", "0", "-t", "2",
                "--diffusion-threshold", "0.8", "--diffusion-eot");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("public int size() {");
        assertThat(r.err()).contains("diffusion:").contains("forward passes");

        for (String[] bad : new String[][]{{"--min-p", "0.1"}, {"--spec", "suffix"}, {"--grammar", "root ::= \"a\""},
                {"--sparse-attention", "tidal"}}) {
            CliTest.Run b = run("generate", "-m", dllm(), "-p", "x", "-n", "4", bad[0], bad[1]);
            assertThat(b.code()).as(bad[0]).isNotZero();
            assertThat(b.err()).as(bad[0]).contains(bad[0]).contains("does not apply to a diffusion model");
        }
        CliTest.Run steps = run("generate", "-m", dllm(), "-p", "x", "-n", "40", "--diffusion-steps", "3");
        assertThat(steps.err()).contains("--diffusion-steps 3 must be a multiple of the number of blocks 2");

        CliTest.Run onAr = run("generate", "-m", ar(), "-p", "x", "-n", "4", "--diffusion-threshold", "0.9");
        assertThat(onAr.code()).isNotZero();
        assertThat(onAr.err()).contains("--diffusion-threshold applies only to diffusion models");
        Path text = Files.writeString(dir.resolve("a.java"), "class A {}\n");
        CliTest.Run perplexity = run("perplexity", "-m", dllm(), "-f", text.toString());
        assertThat(perplexity.code()).isNotZero();
        assertThat(perplexity.err()).contains("diffusion model");
    }

    @Test
    void trainFilterAndBenchDiffusionRunEndToEnd(@TempDir Path dir) throws Exception {
        String workload = SharedData.require("workloads/java-dev.jsonl").toString();
        Path filter = dir.resolve("filter.json");
        CliTest.Run t = run("train-filter", "-m", dllm(), "--workload", workload, "--limit", "2", "-n", "16",
                "--prompt-tokens", "48", "-o", filter.toString(), "-t", "2");
        assertThat(t.code()).as(t.err()).isZero();
        assertThat(Files.readString(filter)).contains("stride-learn2pd-filter").contains("\"samples\" : " + 2 * (16 * 17 / 2));

        CliTest.Run b = run("bench-diffusion", "-m", dllm(), "--judge", ar(), "--workload", workload, "--limit", "2", "-n", "16",
                "--prompt-tokens", "48", "--diffusion-block-length", "16", "--filter", filter.toString(),
                "--strategy", "k=2", "--strategy", "threshold=0.7,cache=2,eot", "--strategy", "filter=0.6", "-t", "2");
        assertThat(b.code()).as(b.err()).isZero();
        assertThat(b.out()).contains("| baseline | 32 | ").contains("| k=2 | 16 | ").contains("| threshold=0.7,cache=2,eot |")
                .contains("| filter=0.6 |");

        CliTest.Run judge = run("bench-diffusion", "-m", dllm(), "--judge", dllm(), "--workload", workload, "--limit", "1");
        assertThat(judge.code()).isNotZero();
        assertThat(judge.err()).contains("the judge needs an autoregressive model");
        CliTest.Run badStrategy = run("bench-diffusion", "-m", dllm(), "--judge", ar(), "--workload", workload, "--strategy", "fast");
        assertThat(badStrategy.err()).contains("--strategy 'fast'");
    }
}
