package io.stride.core.tensor;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.format.BF16Format;
import io.stride.core.tensor.format.F16Format;
import io.stride.core.tensor.format.F32Format;
import io.stride.core.tensor.format.IQ4NLFormat;
import io.stride.core.tensor.format.IQ4XSFormat;
import io.stride.core.tensor.format.Q2KFormat;
import io.stride.core.tensor.format.Q3KFormat;
import io.stride.core.tensor.format.Q4KFormat;
import io.stride.core.tensor.format.Q4_0Format;
import io.stride.core.tensor.format.Q4_1Format;
import io.stride.core.tensor.format.Q5KFormat;
import io.stride.core.tensor.format.Q5_0Format;
import io.stride.core.tensor.format.Q5_1Format;
import io.stride.core.tensor.format.Q6KFormat;
import io.stride.core.tensor.format.Q8_0Format;
import io.stride.core.tensor.kernel.VectorMath;
import io.stride.core.tensor.repack.IQ4XSBlocksFormat;
import io.stride.core.tensor.repack.InterleavedRowsFormat;
import io.stride.core.tensor.repack.Q4KLanesFormat;
import io.stride.core.tensor.repack.Q4_0LanesFormat;
import io.stride.core.tensor.repack.Q5KLanesFormat;
import io.stride.core.tensor.repack.Q6KFieldsFormat;
import io.stride.core.tensor.repack.Q6KLanesFormat;
import io.stride.core.tensor.repack.NibbleLevelsX4Format;
import io.stride.core.tensor.repack.Q8_0x4Format;

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
                new Q5KFormat(), new Q6KFormat(), new Q2KFormat(), new Q3KFormat(), new IQ4NLFormat(), new IQ4XSFormat()}) {
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
     * Q4_0 matrices in block lanes for integer products when {@code integerQ4_0} ({@link Q4_0LanesFormat}: llama.cpp's
     * q4_0 · q8_0 arithmetic) or four rows interleaved for float products; Q4_K, Q5_K and Q6_K matrices in block lanes
     * ({@link Q4KLanesFormat}, {@link Q5KLanesFormat}, {@link Q6KFieldsFormat}: 6-bit fields), Q3_K as Q6_K in packed
     * 6-bit lanes ({@link Q6KLanesFormat}); Q8_0 matrices with four rows
     * interleaved ({@link InterleavedRowsFormat}: same values and results); every other type as in the file. Decode
     * reads weights faster from this copy than from the file mapping (measured in docs/performance-notes.md, "Decode").
     * IQ4_NL, whose blocks are Q4_0's with other levels, takes Q4_0's float kernels with four rows interleaved;
     * IQ4_XS is rewritten as IQ4_NL-like blocks with exact f32 scales ({@link IQ4XSBlocksFormat}) for the same kernels.
     */
    public static Tensor forCompute(Tensor t, Arena arena, boolean integerQ4_0) {
        Tensor packed = t.type() == GgmlType.Q4_0 && integerQ4_0 ? Q4_0LanesFormat.repack(t, arena)
                : t.type() == GgmlType.Q4_K ? Q4KLanesFormat.repack(t, arena)
                : t.type() == GgmlType.Q5_K ? Q5KLanesFormat.repack(t, arena)
                : t.type() == GgmlType.Q6_K ? Q6KFieldsFormat.repack(t, arena)
                : t.type() == GgmlType.Q3_K ? Q6KLanesFormat.repackQ3K(t, arena)
                : t.type() == GgmlType.IQ4_XS ? IQ4XSBlocksFormat.repack(t, arena) : interleaved(t, arena);
        if (packed != t) return packed;
        MemorySegment copy = arena.allocate(t.data().byteSize(), 64);
        copy.copyFrom(t.data());
        return new Tensor(t.name(), t.type(), t.rows(), t.cols(), copy, t.format());
    }

    /**
     * A copy of {@code t} with four rows interleaved ({@link NibbleLevelsX4Format}, {@link Q8_0x4Format}); {@code t} itself when
     * its type has no such layout or its shape (or this CPU's vector width) does not suit the interleaved kernels.
     */
    public static Tensor interleaved(Tensor t, Arena arena) {
        if (VectorMath.LANES != 16 || t.rows() % 4 != 0 || t.cols() % 32 != 0 || t.cols() == 0) return t;
        InterleavedRowsFormat f = switch (t.type()) {
            case Q4_0, IQ4_NL -> new NibbleLevelsX4Format(t.type(), t.cols());
            case Q8_0 -> new Q8_0x4Format(t.cols());
            default -> null;
        };
        return f == null ? t : f.copyInto(t, arena);
    }

    public static boolean supported(GgmlType type) {
        return FORMATS.containsKey(type);
    }
}
