package io.stride.core.kv;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How the KV cache stores keys or values, named as llama.cpp's {@code --cache-type-k} / {@code --cache-type-v} name
 * them. The block types quantize each run of 32 values of one head of one position with one half-precision scale, as
 * ggml's {@code q8_0} / {@code q4_0} blocks do, so a head size must be a multiple of 32 for them.
 */
public enum KvCacheType {
    F32("f32", 32 * 4),
    F16("f16", 32 * 2),
    BF16("bf16", 32 * 2),
    Q8_0("q8_0", 2 + 32),
    Q4_0("q4_0", 2 + 16),
    /**
     * ZipCache's mixed precision ({@link ZipOptions}): every slot as q4_0, and in each closed block of 16 slots the
     * most salient ones again as q8_0 (saliency: normalized attention of the block's own tokens). Its bytes per 32
     * values here are the q4_0 base; the upgrades are counted per block ({@link KvCacheSize#bytesPerBlock}).
     */
    ZIP("zip", 2 + 16);

    /** The type when none is asked for: llama.cpp's default too. */
    public static final KvCacheType DEFAULT = F16;
    /** Values per quantization block. */
    public static final int BLOCK = 32;

    private final String label;
    private final int bytesPer32;

    KvCacheType(String label, int bytesPer32) {
        this.label = label;
        this.bytesPer32 = bytesPer32;
    }

    /** The name on the command line and in requests ({@code f16}, {@code q8_0}, …). */
    public String label() {
        return label;
    }

    /** Whether values are stored in blocks of {@link #BLOCK} with a shared scale. */
    public boolean blocked() {
        return this == Q8_0 || this == Q4_0 || this == ZIP;
    }

    /** Bytes of {@code n} values (n a multiple of 32 for the block types). */
    public long bytes(long n) {
        return blocked() ? n / BLOCK * bytesPer32 : n * (bytesPer32 / BLOCK);
    }

    /** Throws, naming the option, when this type cannot hold heads of {@code headDim} values. */
    public void checkHeadDim(String option, int headDim) {
        if (blocked() && headDim % BLOCK != 0) {
            throw new IllegalArgumentException(option + " " + label + " needs a head size divisible by " + BLOCK
                    + "; this model's is " + headDim + " (use f16, bf16 or f32)");
        }
    }

    /** The type named {@code s} (case-insensitive), or an error listing the names. */
    public static KvCacheType parse(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        for (KvCacheType k : values()) {
            if (k.label.equals(t)) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown KV cache type '" + s + "'; one of " + names());
    }

    public static String names() {
        return Arrays.stream(values()).map(KvCacheType::label).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return label;
    }
}
