package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;

import java.lang.foreign.Arena;
import java.util.EnumMap;
import java.util.Map;

/** The tensor types Stride can compute with. */
public final class QuantFormats {
    private static final Map<GgmlType, QuantFormat> FORMATS = new EnumMap<>(GgmlType.class);

    static {
        for (QuantFormat f : new QuantFormat[]{new F32Format(), new F16Format(), new BF16Format(), new Q8_0Format(),
                new Q4_0Format(), new Q4_1Format(), new Q5_0Format(), new Q5_1Format(), new Q4KFormat(),
                new Q5KFormat(), new Q6KFormat()}) {
            FORMATS.put(f.type(), f);
        }
    }

    private QuantFormats() {}

    /** The format of {@code type}, or null when Stride cannot compute with it. */
    public static QuantFormat of(GgmlType type) {
        return FORMATS.get(type);
    }

    /**
     * The weights of {@code t} in the layout Stride multiplies fastest, copied into {@code arena} where that differs from
     * the file's (Q4_0 matrices: four rows interleaved, {@link Q4_0x4Format}), else {@code t} itself. Same values and
     * results either way; the system property {@code stride.repack=false} keeps every tensor as mapped.
     */
    public static Tensor forCompute(Tensor t, Arena arena) {
        if (!Boolean.parseBoolean(System.getProperty("stride.repack", "true"))) return t;
        return Q4_0x4Format.repack(t, arena);
    }

    public static boolean supported(GgmlType type) {
        return FORMATS.containsKey(type);
    }
}
