package io.stride.core.model;

import io.stride.core.gguf.GgmlType;
import io.stride.core.gguf.GgufFile;
import io.stride.core.gguf.GgufTensorInfo;
import io.stride.core.gguf.GgufValue;
import io.stride.core.gguf.GgufValueType;
import io.stride.core.gguf.GgufWriter;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Map;

/**
 * An IQ4_NL model made from the shared IQ4_XS one, deterministically, for the IQ4_NL reference logits: every IQ4_XS
 * super-block becomes eight IQ4_NL blocks with the same 4-bit codes and the group scale d·(ls − 32) rounded to f16
 * (exact for most groups), every other tensor copied. llama.cpp computed the reference logits on this very file
 * (its SHA-256 is in the reference), so the test rebuilds it and checks the hash before comparing.
 */
final class Iq4NlFile {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Iq4NlFile() {}

    static void write(Path iq4xs, Path out) throws IOException {
        try (GgufFile f = GgufFile.open(iq4xs)) {
            GgufWriter w = new GgufWriter();
            for (Map.Entry<String, GgufValue> e : f.metadata().entrySet()) {
                w.put(e.getKey(), e.getValue());
            }
            w.put("general.file_type", new GgufValue(GgufValueType.UINT32, 25L)); // LLAMA_FTYPE_MOSTLY_IQ4_NL
            for (GgufTensorInfo t : f.tensors().values()) {
                MemorySegment src = f.tensorData(t);
                if (t.type() != GgmlType.IQ4_XS) {
                    w.addTensor(t.name(), t.type(), t.dims(), src.toArray(ValueLayout.JAVA_BYTE));
                    continue;
                }
                long superBlocks = src.byteSize() / 136;
                byte[] dst = new byte[(int) (superBlocks * 8 * 18)];
                for (long s = 0; s < superBlocks; s++) {
                    long o = 136 * s;
                    float d = Float.float16ToFloat(src.get(LE_SHORT, o));
                    int scalesH = src.get(LE_SHORT, o + 2) & 0xFFFF;
                    for (int ib = 0; ib < 8; ib++) {
                        int lo = (src.get(ValueLayout.JAVA_BYTE, o + 4 + ib / 2) & 0xFF) >>> (4 * (ib % 2)) & 0xF;
                        int ls = lo | ((scalesH >>> (2 * ib)) & 3) << 4;
                        short dl = Float.floatToFloat16(d * (ls - 32));
                        int b = (int) ((s * 8 + ib) * 18);
                        dst[b] = (byte) dl;
                        dst[b + 1] = (byte) (dl >> 8);
                        MemorySegment.copy(src, ValueLayout.JAVA_BYTE, o + 8 + 16L * ib, dst, b + 2, 16);
                    }
                }
                w.addTensor(t.name(), GgmlType.IQ4_NL, t.dims(), dst);
            }
            w.write(out);
        }
    }

    public static void main(String[] args) throws IOException {
        write(Path.of(args[0]), Path.of(args[1]));
    }
}
