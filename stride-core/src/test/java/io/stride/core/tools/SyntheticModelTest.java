package io.stride.core.tools;

import io.stride.core.gguf.GgmlType;
import io.stride.core.gguf.GgufFile;
import io.stride.core.model.Model;
import io.stride.core.model.ModelRunner;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tokenizer.BytePairTokenizer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class SyntheticModelTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"test-tiny, F16", "test-tiny, Q8_0", "test-tiny, Q4_0", "test-tiny, Q4_K", "test-tiny-qwen2, Q8_0", "test-tiny-qwen2, Q4_0"})
    void writesLoadableDeterministicModels(String preset, String type) throws IOException {
        SynthPreset p = SynthPreset.byName(preset);
        QuantTarget t = QuantTarget.parse(type);
        Path a = dir.resolve("a.gguf");
        Path b = dir.resolve("b.gguf");
        try (WorkerPool one = new WorkerPool(1); WorkerPool two = new WorkerPool(2)) {
            SyntheticModel.write(p, t, a, 3, one);
            SyntheticModel.write(p, t, b, 3, two);
        }
        assertThat(Files.readAllBytes(a)).as("same seed, any thread count: same file").isEqualTo(Files.readAllBytes(b));
        try (Model m = Model.open(a)) {
            assertThat(m.config().dim()).isEqualTo(p.dim());
            assertThat(m.config().layers()).isEqualTo(p.layers());
            assertThat(m.config().kvHeads()).isEqualTo(p.kvHeads());
            assertThat(m.config().vocab()).isEqualTo(p.vocab());
            assertThat(m.tokenizer().vocabulary().size()).isEqualTo(p.vocab());
            assertThat(m.weights().output() == m.weights().tokenEmbedding()).isEqualTo(p.tied());
            assertThat(m.weights().layers()[0].bq() != null).isEqualTo(p.qkvBias());
            assertThat(m.weights().layers()[0].wq().type()).isEqualTo(t.base);
            if (m.tokenizer() instanceof BytePairTokenizer) {
                String text = "hello world 123";
                assertThat(m.tokenizer().decode(m.tokenizer().encode(text, false, false))).isEqualTo(text);
            }
            float[] logits = ModelRunner.allLogits(m, new int[]{1, 2, 3, 4, 5}, new int[]{5}, 16, 2);
            for (float v : logits) assertThat(Float.isFinite(v)).isTrue();
        }
        if (t == QuantTarget.Q4_0) {
            try (GgufFile f = GgufFile.open(a)) {
                String out = p.tied() ? "token_embd.weight" : "output.weight";
                // llama.cpp's rule: the output projection goes to Q6_K, or Q8_0 when rows are not whole super-blocks
                assertThat(f.tensor(out).type()).isEqualTo(p.dim() % 256 == 0 ? GgmlType.Q6_K : GgmlType.Q8_0);
            }
        }
    }
}
