package io.stride.core.kv;

/**
 * How the KV cache stores keys and values: their types, and whether quantized ones are stored rotated. Rotation
 * (as llama.cpp does for quantized caches since its attention-rotation change; QuaRot's idea): keys and queries of a
 * head are multiplied by the same orthonormal Walsh-Hadamard matrix H (so every score q·k is unchanged in exact
 * arithmetic) and values by H before they are stored, the attention output by H again (H·H = I); H spreads an
 * outlier channel over the whole block, so the block's one scale fits all its values better.
 *
 * @param keys   the key type
 * @param values the value type
 * @param rotate whether quantized keys and values are rotated (heads a multiple of 64)
 * @param zip    ZipCache's settings, used by the {@link KvCacheType#ZIP} keys or values
 * @param keyShare the share of blocks that also hold keys, in (0, 1]: below 1 keys live in a pool of their own (a
 *               block takes a key block when allocated and gives it back when freed or when ShadowKV has factored the
 *               prompt positions it holds), so ShadowKV sequences fit more per byte and dense ones fewer
 */
public record KvCacheConfig(KvCacheType keys, KvCacheType values, boolean rotate, ZipOptions zip, double keyShare) {
    /** f16 keys and values (llama.cpp's default). */
    public static final KvCacheConfig DEFAULT = of(KvCacheType.DEFAULT, KvCacheType.DEFAULT);
    /** Smallest rotated run of a head. */
    static final int MIN_ROTATION = 64;

    public KvCacheConfig {
        if (keys == null || values == null) {
            throw new IllegalArgumentException("a KV cache needs a key type and a value type");
        }
        if (zip == null) {
            zip = ZipOptions.DEFAULT;
        }
        if (!(keyShare > 0 && keyShare <= 1)) {
            throw new IllegalArgumentException("--kv-key-share must be in (0, 1], got " + keyShare);
        }
        if (keyShare < 1 && (keys == KvCacheType.ZIP || values == KvCacheType.ZIP)) {
            throw new IllegalArgumentException("--kv-key-share below 1 is not supported with a zip KV cache (--cache-type-k/-v zip)");
        }
    }

    public KvCacheConfig(KvCacheType keys, KvCacheType values, boolean rotate, ZipOptions zip) {
        this(keys, values, rotate, zip, 1);
    }

    public KvCacheConfig(KvCacheType keys, KvCacheType values, boolean rotate) {
        this(keys, values, rotate, ZipOptions.DEFAULT);
    }

    /** This configuration with keys for {@code share} of the blocks. */
    public KvCacheConfig withKeyShare(double share) {
        return new KvCacheConfig(keys, values, rotate, zip, share);
    }

    /** Whether keys live in a pool of their own (a key share below 1). */
    public boolean separateKeys() {
        return keyShare < 1;
    }

    /** Key blocks of a cache of {@code blocks} blocks: all of them, or the share rounded up. */
    public int keyBlocks(int blocks) {
        return separateKeys() ? Math.max(1, (int) Math.ceil(keyShare * blocks)) : blocks;
    }

    /**
     * Throws, naming {@code what}, when a zip cache is combined with something it does not serve yet: sparse attention
     * (its selection reads keys through other paths), the shared KV tier (a prompt's partial last block would travel
     * without its staging), diffusion models (bidirectional tokens).
     */
    public void checkZipAllows(boolean allowed, String what) {
        if (zipped() && !allowed) {
            throw new IllegalArgumentException(what + " is not supported with a zip KV cache (--cache-type-k/-v zip)");
        }
    }

    /** Whether keys or values are stored as ZipCache's mixed precision. */
    public boolean zipped() {
        return keys == KvCacheType.ZIP || values == KvCacheType.ZIP;
    }

    /** Rotated when quantized. */
    public static KvCacheConfig of(KvCacheType keys, KvCacheType values) {
        return new KvCacheConfig(keys, values, true);
    }

    /** Both in {@code type}, rotated when quantized. */
    public static KvCacheConfig of(KvCacheType type) {
        return of(type, type);
    }

    /**
     * Values per rotated run of a key head of {@code headDim} values, 0 for none: the largest power of two dividing
     * the head (llama.cpp's choice for keys), when the keys are quantized and the head a multiple of 64.
     */
    public int keyRotation(int headDim) {
        if (!rotate || !keys.blocked() || headDim % MIN_ROTATION != 0) {
            return 0;
        }
        return Integer.lowestOneBit(headDim);
    }

    /** Values per rotated run of a value head: 64 (llama.cpp's choice for values) when quantized, else 0. */
    public int valueRotation(int headDim) {
        return rotate && values.blocked() && headDim % MIN_ROTATION == 0 ? MIN_ROTATION : 0;
    }

    @Override
    public String toString() {
        return "k " + keys + ", v " + values + (rotate && (keys.blocked() || values.blocked()) ? ", rotated" : "")
                + (zipped() ? ", zip " + zip : "") + (separateKeys() ? ", keys for " + keyShare + " of the blocks" : "");
    }
}
