package io.stride.core.model;

import io.stride.core.SharedData;
import io.stride.core.gguf.GgmlType;
import io.stride.core.gguf.GgufFile;
import io.stride.core.gguf.GgufTensorInfo;
import io.stride.core.gguf.GgufValue;
import io.stride.core.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A file whose tensors are of a ggml type Stride reads but cannot compute with opens to an error naming tensor and type. */
class UnreadableTypeTest {
    @TempDir
    Path dir;

    @Test
    void iq2xxsTensorsGiveAnErrorNamingTheType() throws Exception {
        Path out = dir.resolve("iq2_xxs.gguf");
        try (GgufFile f = GgufFile.open(SharedData.model("random/random-llama-quant-iq4_xs.gguf"))) {
            GgufWriter w = new GgufWriter();
            for (Map.Entry<String, GgufValue> e : f.metadata().entrySet()) w.put(e.getKey(), e.getValue());
            for (GgufTensorInfo t : f.tensors().values()) {
                if (t.type() == GgmlType.IQ4_XS) {
                    long blocks = f.tensorData(t).byteSize() / GgmlType.IQ4_XS.blockBytes;
                    w.addTensor(t.name(), GgmlType.IQ2_XXS, t.dims(), new byte[(int) (blocks * GgmlType.IQ2_XXS.blockBytes)]);
                } else {
                    w.addTensor(t.name(), t.type(), t.dims(), f.tensorData(t).toArray(ValueLayout.JAVA_BYTE));
                }
            }
            w.write(out);
        }
        assertThatThrownBy(() -> Model.open(out).close())
                .hasMessageContaining("IQ2_XXS")
                .hasMessageContaining("cannot compute with");
    }
}
