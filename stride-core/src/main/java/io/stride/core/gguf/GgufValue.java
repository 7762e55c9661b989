package io.stride.core.gguf;

import java.util.Arrays;

/**
 * One metadata value with its GGUF type. Scalars: integers as {@link Long}, FLOAT32 as {@link Float},
 * FLOAT64 as {@link Double}, BOOL as {@link Boolean}, STRING as {@link String}. Arrays as {@link GgufArray}.
 */
public record GgufValue(GgufValueType type, Object value) {

    public static GgufValue ofString(String s) {
        return new GgufValue(GgufValueType.STRING, s);
    }

    public static GgufValue ofUInt32(long v) {
        return new GgufValue(GgufValueType.UINT32, v);
    }

    public static GgufValue ofInt32(int v) {
        return new GgufValue(GgufValueType.INT32, (long) v);
    }

    public static GgufValue ofFloat32(float v) {
        return new GgufValue(GgufValueType.FLOAT32, v);
    }

    public static GgufValue ofBool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, v);
    }

    public static GgufValue ofArray(GgufArray a) {
        return new GgufValue(GgufValueType.ARRAY, a);
    }

    /** A short human-readable rendering (arrays abbreviated). */
    public String describe() {
        if (value instanceof GgufArray a) {
            return a.describe();
        }
        if (value instanceof String s) {
            return s.length() > 120 ? '"' + s.substring(0, 117) + "...\"" : '"' + s + '"';
        }
        return String.valueOf(value);
    }

    /**
     * A typed array. {@code values} is long[] for integer element types, float[] for FLOAT32, double[] for FLOAT64,
     * boolean[] for BOOL, String[] for STRING and GgufArray[] for nested arrays.
     */
    public record GgufArray(GgufValueType elementType, Object values) {
        public int length() {
            return switch (values) {
                case long[] a -> a.length;
                case float[] a -> a.length;
                case double[] a -> a.length;
                case boolean[] a -> a.length;
                case String[] a -> a.length;
                case GgufArray[] a -> a.length;
                default -> throw new IllegalStateException("bad array storage " + values.getClass());
            };
        }

        public String describe() {
            String head = switch (values) {
                case long[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, 4)));
                case float[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, 4)));
                case double[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, 4)));
                case boolean[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, 4)));
                case String[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, 4)));
                default -> "[...]";
            };
            return elementType + "[" + length() + "] " + head;
        }
    }
}
