package io.stride.core.gguf;

import java.nio.file.Path;
import java.util.Map;

/** Typed access to GGUF metadata, with clear errors for missing or mistyped required keys. */
public final class GgufMetadata {
    private final Path path;
    private final Map<String, GgufValue> map;

    public GgufMetadata(Path path, Map<String, GgufValue> map) {
        this.path = path;
        this.map = map;
    }

    public boolean has(String key) {
        return map.containsKey(key);
    }

    public GgufValue raw(String key) {
        return map.get(key);
    }

    private GgufException missing(String key) {
        return new GgufException(path + ": missing required metadata " + Printable.quote(key) + "");
    }

    private GgufException wrongType(String key, GgufValue v, String expected) {
        return new GgufException(path + ": metadata " + Printable.quote(key) + " should be " + expected + " but is " + v.type());
    }

    public String string(String key) {
        GgufValue v = map.get(key);
        if (v == null) throw missing(key);
        if (v.type() != GgufValueType.STRING) throw wrongType(key, v, "a string");
        return (String) v.value();
    }

    public String string(String key, String def) {
        return has(key) ? string(key) : def;
    }

    public long integer(String key) {
        GgufValue v = map.get(key);
        if (v == null) throw missing(key);
        if (!v.type().isInteger()) throw wrongType(key, v, "an integer");
        return (long) v.value();
    }

    public long integer(String key, long def) {
        return has(key) ? integer(key) : def;
    }

    /** A positive int, for shapes and counts. */
    public int positiveInt(String key) {
        long v = integer(key);
        if (v <= 0 || v > Integer.MAX_VALUE) {
            throw new GgufException(path + ": metadata " + Printable.quote(key) + " must be a positive 32-bit count, found " + v);
        }
        return (int) v;
    }

    public int positiveInt(String key, int def) {
        return has(key) ? positiveInt(key) : def;
    }

    public double number(String key) {
        GgufValue v = map.get(key);
        if (v == null) throw missing(key);
        return switch (v.value()) {
            case Float f -> f;
            case Double d -> d;
            case Long l -> l;
            default -> throw wrongType(key, v, "a number");
        };
    }

    public double number(String key, double def) {
        return has(key) ? number(key) : def;
    }

    public boolean bool(String key, boolean def) {
        GgufValue v = map.get(key);
        if (v == null) return def;
        if (v.value() instanceof Boolean b) return b;
        if (v.value() instanceof Long l) return l != 0;
        throw wrongType(key, v, "a bool");
    }

    private GgufValue.GgufArray array(String key, GgufValueType... elementTypes) {
        GgufValue v = map.get(key);
        if (v == null) throw missing(key);
        if (!(v.value() instanceof GgufValue.GgufArray a)) throw wrongType(key, v, "an array");
        for (GgufValueType t : elementTypes) {
            if (a.elementType() == t) return a;
        }
        throw new GgufException(path + ": metadata array " + Printable.quote(key) + " has elements of type " + a.elementType());
    }

    public String[] stringArray(String key) {
        return (String[]) array(key, GgufValueType.STRING).values();
    }

    public float[] floatArray(String key) {
        GgufValue.GgufArray a = array(key, GgufValueType.FLOAT32, GgufValueType.FLOAT64);
        if (a.values() instanceof float[] f) return f;
        double[] d = (double[]) a.values();
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    public int[] intArray(String key) {
        GgufValue.GgufArray a = array(key, GgufValueType.INT32, GgufValueType.UINT32, GgufValueType.INT8,
                GgufValueType.UINT8, GgufValueType.INT16, GgufValueType.UINT16, GgufValueType.INT64, GgufValueType.UINT64);
        long[] l = (long[]) a.values();
        int[] r = new int[l.length];
        for (int i = 0; i < l.length; i++) r[i] = (int) l[i];
        return r;
    }
}
