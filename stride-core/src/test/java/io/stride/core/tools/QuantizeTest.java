package io.stride.core.tools;

import io.stride.core.SharedData;
import io.stride.core.gguf.GgufFile;
import io.stride.core.gguf.GgufTensorInfo;
import io.stride.core.model.Model;
import io.stride.core.model.ModelRunner;
import io.stride.core.parallel.WorkerPool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** stride quantize against llama.cpp's quantize on the same F32 model. */
class QuantizeTest {
    @TempDir
    Path dir;

    private static final String F32 = "random/random-llama-quant-f32.gguf";

    @ParameterizedTest
    @ValueSource(strings = {"q8_0", "q4_0", "q4_k_m", "q5_k_m", "q6_k"})
    void blocksAreBitIdenticalToLlamaCpp(String type) throws IOException {
        Path out = dir.resolve(type + ".gguf");
        try (WorkerPool pool = new WorkerPool(2)) {
            ModelQuantizer.quantize(SharedData.model(F32), out, QuantTarget.parse(type), pool, (n, f, t) -> {});
        }
        int compared = 0;
        try (GgufFile ours = GgufFile.open(out);
             GgufFile ref = GgufFile.open(SharedData.model("random/random-llama-quant-" + type + ".gguf"))) {
            assertThat(ours.tensors().keySet()).containsExactlyInAnyOrderElementsOf(ref.tensors().keySet());
            for (GgufTensorInfo t : ours.tensors().values()) {
                GgufTensorInfo r = ref.tensor(t.name());
                assertThat(t.type()).as("type of %s", t.name()).isEqualTo(r.type());
                assertThat(ours.tensorData(t).toArray(ValueLayout.JAVA_BYTE)).as("bytes of %s", t.name())
                        .isEqualTo(ref.tensorData(r).toArray(ValueLayout.JAVA_BYTE));
                compared++;
            }
        }
        assertThat(compared).isEqualTo(21);
    }

    @Test
    void q4KIsAsCloseToF32AsLlamaCppsQ4KM() throws IOException {
        Path out = dir.resolve("q4k.gguf");
        try (WorkerPool pool = new WorkerPool(2)) {
            ModelQuantizer.quantize(SharedData.model(F32), out, QuantTarget.Q4_K, pool, (n, f, t) -> {});
        }
        int[] tokens = io.stride.core.model.ReferenceLogitsTestAccess.tokens("random-llama-quant-f32");
        float[] f32;
        float[] ours;
        float[] llama;
        int vocab;
        try (Model m = Model.open(SharedData.model(F32))) {
            vocab = m.config().vocab();
            f32 = ModelRunner.allLogits(m, tokens, new int[]{64}, 16, 2);
        }
        try (Model m = Model.open(out)) {
            ours = ModelRunner.allLogits(m, tokens, new int[]{64}, 16, 2);
        }
        try (Model m = Model.open(SharedData.model("random/random-llama-quant-q4_k_m.gguf"))) {
            llama = ModelRunner.allLogits(m, tokens, new int[]{64}, 16, 2);
        }
        double klOurs = io.stride.core.model.ReferenceLogitsTestAccess.meanKl(f32, ours, vocab);
        double klLlama = io.stride.core.model.ReferenceLogitsTestAccess.meanKl(f32, llama, vocab);
        System.out.printf("mean KL to F32: ours %.4g, llama.cpp Q4_K_M %.4g%n", klOurs, klLlama);
        assertThat(klOurs).isLessThanOrEqualTo(klLlama * 1.10);
        try (GgufFile o = GgufFile.open(out); GgufFile r = GgufFile.open(SharedData.model("random/random-llama-quant-q4_k_m.gguf"))) {
            for (GgufTensorInfo t : o.tensors().values()) {
                assertThat(t.type()).as("mixture type of %s", t.name()).isEqualTo(r.tensor(t.name()).type());
            }
        }
    }
}
