package io.stride.core.model;

import io.stride.core.SharedData;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * After warm-up, a decode step (one token through the forward pass) allocates nothing on any engine thread: F16
 * kernels, the repacked Q4_0 and Q8_0 ones, and the K-quant ones (Q4_K_M, Q5_K_M, Q6_K files; Q6_K is also the output
 * layer of the Q4_0 file). A failure names the allocation sites (JFR samples).
 *
 * <p>Each model is measured in a JVM of its own ({@link DecodeAllocationProbe}), as the server runs one model per
 * process. In this test JVM, the kernels' profiles from other tests and models decided how C2 compiled them, and
 * some compilations boxed vectors (80 bytes per row and super-block in the Q6_K output layer, after BatchInvarianceTest
 * ran): the kernels now avoid every case seen (KQuantDot), but which compilation a history leads to is not
 * reproducible, so the test measures the state a server reaches.
 */
@Tag("slow")
class DecodeAllocationTest {
    @ParameterizedTest
    @ValueSource(strings = {"javatiny-26m-f16.gguf", "random/random-llama-quant-q4_0.gguf", "random/random-llama-quant-q8_0.gguf",
            "float:random/random-llama-quant-q4_0.gguf", "random/random-llama-quant-q4_k_m.gguf", "random/random-llama-quant-q5_k_m.gguf",
            "random/random-llama-quant-q6_k.gguf", "random/random-llama-quant-q3_k_m.gguf", "random/random-llama-quant-iq4_xs.gguf",
            "random/random-llama-quant-q2_k.gguf", "kv=q8_0:javatiny-26m-f16.gguf", "kv=q4_0:javatiny-26m-f16.gguf",
            "kv=f16:javatiny-26m-f16.gguf", "kv=zip:javatiny-26m-f16.gguf", "tidal=q8_0:javatiny-26m-f16.gguf",
            "shadowkv=f16:javatiny-26m-f16.gguf"})
    void decodeStepsDoNotAllocate(String model) throws IOException, InterruptedException {
        // "float:" loads Q4_0 for float products (-Dstride.q4_0=float; the default is integer products); "kv=TYPE:" caches
        // keys and values in TYPE and decodes past the split-attention length; "tidal=TYPE:" and "shadowkv=TYPE:" do so with sparse attention
        Path file = SharedData.model(model.substring(model.indexOf(':') + 1));
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx1g",
                "-cp", System.getProperty("java.class.path"), DecodeAllocationProbe.class.getName(), file.toString()));
        if (model.startsWith("float:")) command.add("float");
        if (model.startsWith("kv=")) command.addAll(List.of("integer", model.substring(3, model.indexOf(':'))));
        if (model.startsWith("tidal=")) command.addAll(List.of("integer", model.substring(6, model.indexOf(':')), "tidal:budget=256"));
        if (model.startsWith("shadowkv=")) {
            command.addAll(List.of("integer", model.substring(9, model.indexOf(':')), "shadowkv:budget=256,outliers=4"));
        }
        Path log = Files.createTempFile("decode-allocation", ".log");
        String printed;
        boolean done;
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            p.getOutputStream().close();
            done = p.waitFor(5, TimeUnit.MINUTES);
            if (!done) p.destroyForcibly().waitFor();
            printed = Files.readString(log, StandardCharsets.UTF_8);
        } finally {
            Files.deleteIfExists(log);
        }
        assertThat(done).as("the probe finished within 5 minutes; it printed:%n%s", printed).isTrue();
        assertThat(p.exitValue()).as("the probe's exit status; it printed:%n%s", printed).isZero();
        String last = printed.lines().filter(l -> l.startsWith("allocated ")).reduce((a, b) -> b).orElse("allocated ?");
        System.out.println(model + ": bytes allocated by 32 decode steps after warm-up: " + last.substring(10));
        assertThat(last).as("bytes allocated by the best window of 32 decode steps of %s (vector species: %s); the probe printed:%n%s",
                model, jdk.incubator.vector.FloatVector.SPECIES_PREFERRED, printed).isEqualTo("allocated 0");
    }
}
