package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
     * The weights of {@code t} copied into {@code arena} (anonymous memory) in the layout Stride multiplies fastest:
     * Q4_0 matrices in block lanes for integer products ({@link Q4_0LanesFormat}: llama.cpp's q4_0 · q8_0 arithmetic),
     * Q8_0 matrices with four rows interleaved ({@link InterleavedRowsFormat}: same values and results), every other
     * type as in the file. {@code -Dstride.q4_0=float} gives Q4_0 the four-row float layout instead (BENCHMARKS.md,
     * session 10: integer decode 1.3-1.7× and prefill 1.3-1.9× faster). Reading weights from the copy instead of the
     * file mapping made decode 1.5–2× faster on the Zen 5 machine (BENCHMARKS.md, session 5). The system property
     * {@code stride.weights=mapped} keeps every tensor as mapped (no copy, less memory).
     */
    public static Tensor forCompute(Tensor t, Arena arena) {
        if ("mapped".equals(System.getProperty("stride.weights", "copy"))) return t;
        Tensor packed = t.type() == GgmlType.Q4_0 && integerQ4_0() ? Q4_0LanesFormat.repack(t, arena) : InterleavedRowsFormat.repack(t, arena);
        if (packed != t) return packed;
        MemorySegment copy = arena.allocate(t.data().byteSize(), 64);
        copy.copyFrom(t.data());
        return new Tensor(t.name(), t.type(), t.rows(), t.cols(), copy, t.format());
    }

    /** Whether Q4_0 matrices are multiplied in integers (default; {@code -Dstride.q4_0=float}: not; read when a model loads). */
    public static boolean integerQ4_0() {
        String v = System.getProperty("stride.q4_0", "integer");
        return switch (v) {
            case "integer" -> true;
            case "float" -> false;
            default -> throw new IllegalArgumentException("stride.q4_0 must be float or integer, not " + v);
        };
    }

    public static boolean supported(GgmlType type) {
        return FORMATS.containsKey(type);
    }
}
