package io.stride.core.tools;

import io.stride.core.gguf.GgmlType;
import io.stride.core.gguf.GgufException;
import io.stride.core.gguf.GgufFile;
import io.stride.core.gguf.GgufTensorInfo;
import io.stride.core.gguf.GgufValue;
import io.stride.core.gguf.GgufValueType;
import io.stride.core.gguf.GgufWriter;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.QuantFormats;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;

/** Rewrites a GGUF model with its weights in another type (what {@code stride quantize} runs). */
public final class ModelQuantizer {
    private ModelQuantizer() {}

    /** Per-tensor report. */
    public interface Listener {
        void tensor(String name, GgmlType from, GgmlType to);

        /** Bytes of the input's tensors done so far, of {@code total}. */
        default void progress(long done, long total) {}
    }

    public static void quantize(Path in, Path out, QuantTarget target, WorkerPool pool, Listener listener) throws IOException {
        if (in.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("output file must differ from the input file");
        }
        try (GgufFile f = GgufFile.open(in)) {
            String arch = f.meta().string("general.architecture");
            int layers = (int) f.meta().integer(arch + ".block_count", 0);
            boolean hasOutput = f.tensor("output.weight") != null;
            GgufWriter w = new GgufWriter();
            for (Map.Entry<String, GgufValue> e : f.metadata().entrySet()) {
                w.put(e.getKey(), e.getValue());
            }
            w.put("general.file_type", new GgufValue(GgufValueType.UINT32, (long) target.fileType));
            w.put("general.quantization_version", new GgufValue(GgufValueType.UINT32, 2L));
            long total = f.tensors().values().stream().mapToLong(GgufTensorInfo::byteSize).sum();
            long done = 0;
            for (GgufTensorInfo t : f.tensors().values()) {
                done += t.byteSize();
                listener.progress(done - t.byteSize(), total);
                GgmlType to = target.typeFor(t.name(), t.dims(), layers, hasOutput);
                MemorySegment src = f.tensorData(t);
                if (to == null || to == t.type()) {
                    w.addTensor(t.name(), t.type(), t.dims(), copy(src));
                    listener.tensor(t.name(), t.type(), t.type());
                    continue;
                }
                QuantFormat from = QuantFormats.of(t.type());
                if (from == null) {
                    throw new GgufException(in + ": tensor '" + t.name() + "' has type " + t.type() + ", which cannot be converted");
                }
                int cols = (int) t.dims()[0];
                int rows = (int) (t.elementCount() / cols);
                long rowBytes = t.type().bytesFor(cols);
                byte[] data = TensorEncoder.encode(to, rows, cols, (r, dst) -> from.dequantize(src, r * rowBytes, dst, 0, cols), pool);
                w.addTensor(t.name(), to, t.dims(), data);
                listener.tensor(t.name(), t.type(), to);
            }
            listener.progress(total, total);
            w.write(out);
        }
    }

    private static byte[] copy(MemorySegment s) {
        return s.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }
}
