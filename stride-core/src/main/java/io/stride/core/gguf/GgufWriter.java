package io.stride.core.gguf;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Writes GGUF version 3 files: metadata in insertion order, then tensors, each aligned. */
public final class GgufWriter {
    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();
    private int alignment = GgufFile.DEFAULT_ALIGNMENT;

    private record PendingTensor(String name, GgmlType type, long[] dims, MemorySegment data) {}

    public GgufWriter put(String key, GgufValue value) {
        metadata.put(key, value);
        if (key.equals("general.alignment")) {
            alignment = (int) (long) value.value();
        }
        return this;
    }

    public GgufWriter putString(String key, String v) {
        return put(key, GgufValue.ofString(v));
    }

    public GgufWriter putUInt32(String key, long v) {
        return put(key, GgufValue.ofUInt32(v));
    }

    public GgufWriter putFloat32(String key, float v) {
        return put(key, GgufValue.ofFloat32(v));
    }

    public GgufWriter putBool(String key, boolean v) {
        return put(key, GgufValue.ofBool(v));
    }

    public GgufWriter putStrings(String key, String[] v) {
        return put(key, GgufValue.ofArray(new GgufValue.GgufArray(GgufValueType.STRING, v)));
    }

    public GgufWriter putFloats(String key, float[] v) {
        return put(key, GgufValue.ofArray(new GgufValue.GgufArray(GgufValueType.FLOAT32, v)));
    }

    public GgufWriter putInts(String key, int[] v) {
        long[] l = new long[v.length];
        for (int i = 0; i < v.length; i++) l[i] = v[i];
        return put(key, GgufValue.ofArray(new GgufValue.GgufArray(GgufValueType.INT32, l)));
    }

    /** Adds a tensor; {@code data} must hold exactly the bytes of {@code dims} elements of {@code type}. */
    public GgufWriter addTensor(String name, GgmlType type, long[] dims, MemorySegment data) {
        long n = 1;
        for (long d : dims) n *= d;
        if (dims[0] % type.blockSize != 0) {
            throw new IllegalArgumentException(name + ": row length " + dims[0] + " not a multiple of " + type.blockSize);
        }
        if (type.bytesFor(n) != data.byteSize()) {
            throw new IllegalArgumentException(name + ": expected " + type.bytesFor(n) + " bytes, got " + data.byteSize());
        }
        tensors.add(new PendingTensor(name, type, dims.clone(), data));
        return this;
    }

    public GgufWriter addTensor(String name, GgmlType type, long[] dims, byte[] data) {
        return addTensor(name, type, dims, MemorySegment.ofArray(data));
    }

    public void write(Path path) throws IOException {
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(path), 1 << 20)) {
            LeOut out = new LeOut(os);
            out.i32(GgufFile.MAGIC);
            out.i32(3);
            out.i64(tensors.size());
            out.i64(metadata.size());
            for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
                out.str(e.getKey());
                out.i32(e.getValue().type().id);
                writeValue(out, e.getValue().type(), e.getValue().value());
            }
            long offset = 0;
            for (PendingTensor t : tensors) {
                out.str(t.name);
                out.i32(t.dims.length);
                for (long d : t.dims) out.i64(d);
                out.i32(t.type.id);
                out.i64(offset);
                offset = GgufFile.align(offset + t.data.byteSize(), alignment);
            }
            out.pad(alignment);
            long dataStart = out.count;
            for (PendingTensor t : tensors) {
                byte[] buf = new byte[1 << 16];
                long n = t.data.byteSize();
                for (long p = 0; p < n; p += buf.length) {
                    int len = (int) Math.min(buf.length, n - p);
                    MemorySegment.copy(t.data, ValueLayout.JAVA_BYTE, p, buf, 0, len);
                    out.bytes(buf, len);
                }
                long rel = out.count - dataStart;
                long target = GgufFile.align(rel, alignment);
                for (long i = rel; i < target; i++) out.u8(0);
            }
        }
    }

    private static void writeValue(LeOut out, GgufValueType type, Object v) throws IOException {
        switch (type) {
            case UINT8, INT8 -> out.u8((int) (long) (Long) v);
            case BOOL -> out.u8((Boolean) v ? 1 : 0);
            case UINT16, INT16 -> out.i16((int) (long) (Long) v);
            case UINT32, INT32 -> out.i32((int) (long) (Long) v);
            case UINT64, INT64 -> out.i64((Long) v);
            case FLOAT32 -> out.i32(Float.floatToRawIntBits((Float) v));
            case FLOAT64 -> out.i64(Double.doubleToRawLongBits((Double) v));
            case STRING -> out.str((String) v);
            case ARRAY -> writeArray(out, (GgufValue.GgufArray) v);
        }
    }

    private static void writeArray(LeOut out, GgufValue.GgufArray a) throws IOException {
        out.i32(a.elementType().id);
        out.i64(a.length());
        switch (a.values()) {
            case long[] l -> { for (long x : l) writeValue(out, a.elementType(), x); }
            case float[] f -> { for (float x : f) out.i32(Float.floatToRawIntBits(x)); }
            case double[] d -> { for (double x : d) out.i64(Double.doubleToRawLongBits(x)); }
            case boolean[] b -> { for (boolean x : b) out.u8(x ? 1 : 0); }
            case String[] s -> { for (String x : s) out.str(x); }
            case GgufValue.GgufArray[] n -> { for (GgufValue.GgufArray x : n) writeArray(out, x); }
            default -> throw new IllegalStateException("bad array storage");
        }
    }

    /** Little-endian output with a byte count. */
    private static final class LeOut {
        final OutputStream os;
        long count;

        LeOut(OutputStream os) {
            this.os = os;
        }

        void u8(int v) throws IOException {
            os.write(v);
            count++;
        }

        void i16(int v) throws IOException {
            u8(v & 0xff);
            u8((v >>> 8) & 0xff);
        }

        void i32(int v) throws IOException {
            for (int i = 0; i < 4; i++) u8((v >>> (8 * i)) & 0xff);
        }

        void i64(long v) throws IOException {
            for (int i = 0; i < 8; i++) u8((int) ((v >>> (8 * i)) & 0xff));
        }

        void str(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            bytes(b, b.length);
        }

        void bytes(byte[] b, int len) throws IOException {
            os.write(b, 0, len);
            count += len;
        }

        void pad(int alignment) throws IOException {
            while (count % alignment != 0) u8(0);
        }
    }
}
