package io.stride.core.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Bounds-checked little-endian reads from a mapped GGUF header; every failure names the file and offset. */
final class GgufCursor {
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final int MAX_NESTING = 8;

    private final Path path;
    private final MemorySegment seg;
    private long pos;

    GgufCursor(Path path, MemorySegment seg) {
        this.path = path;
        this.seg = seg;
    }

    long position() {
        return pos;
    }

    long remaining() {
        return seg.byteSize() - pos;
    }

    private void need(long n, String what) {
        if (n < 0 || pos + n > seg.byteSize()) {
            throw new GgufException(path + ": truncated file: reading " + what + " at offset " + pos + " needs " + n
                    + " bytes, file has " + seg.byteSize());
        }
    }

    int i32() {
        need(4, "a 32-bit value");
        int v = seg.get(I32, pos);
        pos += 4;
        return v;
    }

    long u32() {
        return Integer.toUnsignedLong(i32());
    }

    long u64(String what) {
        need(8, what);
        long v = seg.get(I64, pos);
        pos += 8;
        if (v < 0) {
            throw new GgufException(path + ": " + what + " at offset " + (pos - 8) + " is too large: " + Long.toUnsignedString(v));
        }
        return v;
    }

    String string(String what) {
        long start = pos;
        long len = u64(what + " length");
        need(len, what);
        if (len > Integer.MAX_VALUE - 16) {
            throw new GgufException(path + ": " + what + " at offset " + start + " is absurdly long (" + len + " bytes)");
        }
        byte[] b = seg.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
        pos += len;
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            // GGUF strings should be UTF-8; byte-level vocabularies occasionally are not. Keep going, lossy.
            return new String(b, StandardCharsets.UTF_8);
        }
    }

    GgufValue value(GgufValueType type, String key, int depth) {
        return switch (type) {
            case UINT8 -> { need(1, key); yield new GgufValue(type, (long) Byte.toUnsignedInt(seg.get(ValueLayout.JAVA_BYTE, pos++))); }
            case INT8 -> { need(1, key); yield new GgufValue(type, (long) seg.get(ValueLayout.JAVA_BYTE, pos++)); }
            case UINT16 -> { need(2, key); long v = Short.toUnsignedInt(seg.get(I16, pos)); pos += 2; yield new GgufValue(type, v); }
            case INT16 -> { need(2, key); long v = seg.get(I16, pos); pos += 2; yield new GgufValue(type, v); }
            case UINT32 -> new GgufValue(type, u32());
            case INT32 -> new GgufValue(type, (long) i32());
            case FLOAT32 -> { need(4, key); float v = seg.get(F32, pos); pos += 4; yield new GgufValue(type, v); }
            case BOOL -> { need(1, key); byte b = seg.get(ValueLayout.JAVA_BYTE, pos++); yield new GgufValue(type, b != 0); }
            case STRING -> new GgufValue(type, string("value of " + Printable.quote(key) + ""));
            case UINT64, INT64 -> { need(8, key); long v = seg.get(I64, pos); pos += 8; yield new GgufValue(type, v); }
            case FLOAT64 -> { need(8, key); double v = seg.get(F64, pos); pos += 8; yield new GgufValue(type, v); }
            case ARRAY -> new GgufValue(type, array(key, depth + 1));
        };
    }

    private GgufValue.GgufArray array(String key, int depth) {
        long at = pos;
        if (depth > MAX_NESTING) {
            throw new GgufException(path + ": metadata " + Printable.quote(key) + " nests arrays deeper than " + MAX_NESTING + " at offset " + at);
        }
        long typeId = u32();
        GgufValueType et = GgufValueType.byId(typeId);
        if (et == null) {
            throw new GgufException(path + ": metadata array " + Printable.quote(key) + " has unknown element type " + typeId + " at offset " + at);
        }
        long n = u64("array length of " + Printable.quote(key) + "");
        if (n > remaining() / et.minBytes || n > Integer.MAX_VALUE - 16) {
            throw new GgufException(path + ": metadata array " + Printable.quote(key) + " at offset " + at + " claims " + n
                    + " elements, more than the remaining " + remaining() + " bytes can hold (truncated or corrupt)");
        }
        int len = (int) n;
        Object values;
        switch (et) {
            case FLOAT32 -> {
                float[] a = new float[len];
                need(4L * len, key);
                for (int i = 0; i < len; i++) { a[i] = seg.get(F32, pos); pos += 4; }
                values = a;
            }
            case FLOAT64 -> {
                double[] a = new double[len];
                need(8L * len, key);
                for (int i = 0; i < len; i++) { a[i] = seg.get(F64, pos); pos += 8; }
                values = a;
            }
            case BOOL -> {
                boolean[] a = new boolean[len];
                need(len, key);
                for (int i = 0; i < len; i++) { a[i] = seg.get(ValueLayout.JAVA_BYTE, pos++) != 0; }
                values = a;
            }
            case STRING -> {
                String[] a = new String[len];
                for (int i = 0; i < len; i++) { a[i] = string("element " + i + " of " + Printable.quote(key) + ""); }
                values = a;
            }
            case ARRAY -> {
                GgufValue.GgufArray[] a = new GgufValue.GgufArray[len];
                for (int i = 0; i < len; i++) { a[i] = array(key, depth + 1); }
                values = a;
            }
            default -> {
                long[] a = new long[len];
                for (int i = 0; i < len; i++) { a[i] = (long) value(et, key, depth).value(); }
                values = a;
            }
        }
        return new GgufValue.GgufArray(et, values);
    }
}
