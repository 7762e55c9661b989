package io.stride.core.kv;

import java.util.Locale;

/**
 * ZipCache's settings for the {@link KvCacheType#ZIP} cache type: how many of each closed block's 16 slots are kept
 * as q8_0 beside their q4_0 base (the salient ratio, {@code salient}/16), and how they are chosen: by attention
 * (ZipCache's normalized attention, gathered from the block's own tokens) or at fixed offsets (the same bytes with
 * no saliency: the baseline that shows what the choice is worth).
 *
 * @param salient     slots of 16 kept as q8_0 (0 .. 16)
 * @param byAttention true: the most attended slots; false: slots {@code 16·u / salient} of each block
 */
public record ZipOptions(int salient, boolean byAttention) {
    /**
     * One slot in 16, chosen by attention: q4_0 + 1/16 of q8_0 = 5.03 bits per value, 0.31× the bytes of f16 (zip keys
     * with q4_0 values: 0.30×).
     */
    public static final ZipOptions DEFAULT = new ZipOptions(1, true);
    /** Slots per block the choice is made among (a block is one key tile). */
    public static final int BLOCK = 16;

    public ZipOptions {
        if (salient < 0 || salient > BLOCK) {
            throw new IllegalArgumentException("--kv-zip salient must be within 0 .. " + BLOCK + ", got " + salient);
        }
    }

    /**
     * Parses {@code salient=N,select=attention|fixed} (either key may be left out; an empty string is the default).
     */
    public static ZipOptions parse(String spec) {
        int salient = DEFAULT.salient;
        boolean byAttention = DEFAULT.byAttention;
        if (spec == null || spec.isBlank()) {
            return DEFAULT;
        }
        for (String part : spec.split(",")) {
            String[] kv = part.split("=", 2);
            if (kv.length != 2) {
                throw new IllegalArgumentException("--kv-zip: expected key=value, got '" + part + "'");
            }
            String key = kv[0].trim().toLowerCase(Locale.ROOT), value = kv[1].trim().toLowerCase(Locale.ROOT);
            switch (key) {
                case "salient" -> {
                    try {
                        salient = Integer.parseInt(value);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("--kv-zip salient must be a whole number, got '" + kv[1] + "'");
                    }
                }
                case "select" -> byAttention = switch (value) {
                    case "attention" -> true;
                    case "fixed" -> false;
                    default -> throw new IllegalArgumentException("--kv-zip select must be attention or fixed, got '" + kv[1] + "'");
                };
                default -> throw new IllegalArgumentException("--kv-zip: unknown key '" + kv[0] + "' (salient, select)");
            }
        }
        return new ZipOptions(salient, byAttention);
    }

    @Override
    public String toString() {
        return "salient " + salient + "/" + BLOCK + (byAttention ? " by attention" : " at fixed offsets");
    }
}
