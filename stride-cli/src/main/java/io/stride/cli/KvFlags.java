package io.stride.cli;

import io.stride.core.kv.KvCacheConfig;
import io.stride.core.kv.KvCacheType;
import io.stride.core.kv.ZipOptions;
import picocli.CommandLine.Option;

import java.util.List;

/** The KV cache types, in llama.cpp's spelling ({@code -ctk} / {@code -ctv}); bench takes lists. */
final class KvFlags {
    @Option(names = {"-ctk", "--cache-type-k"}, split = ",", paramLabel = "TYPE",
            description = "How keys are cached: f32, f16 (default), bf16, q8_0, q4_0 or zip (ZipCache: q4_0 with the salient "
                    + "slots of each block of 16 also kept as q8_0; see --kv-zip) (bench takes a list).")
    List<String> keyTypes;

    @Option(names = {"-ctv", "--cache-type-v"}, split = ",", paramLabel = "TYPE",
            description = "How values are cached: f32, f16 (default), bf16, q8_0, q4_0 or zip (bench takes a list).")
    List<String> valueTypes;

    @Option(names = "--kv-rotation", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Store quantized keys and values rotated by a Walsh-Hadamard matrix, as llama.cpp does (default on; "
                    + "--no-kv-rotation to store them as computed).")
    boolean rotate;

    @Option(names = "--kv-zip", paramLabel = "SPEC",
            description = "ZipCache settings for zip keys/values: salient=N (slots of each 16 also kept as q8_0, default 1: "
                    + "5.03 bits per value, 0.31x the bytes of f16; -ctk zip -ctv q4_0 is 0.30x), select=attention (default: "
                    + "the most attended, by the block's own tokens) or fixed (evenly spaced slots: the same bytes without saliency).")
    String zip;

    @Option(names = "--kv-key-share", paramLabel = "F", defaultValue = "1",
            description = "Share of KV blocks that also hold keys, in (0, 1] (default 1). Below 1 keys get a pool of their own: "
                    + "a ShadowKV sequence gives back the key blocks of the prompt positions it has factored, so more such "
                    + "sequences fit in the same memory; every other position still needs a key block, so dense sequences fit fewer.")
    double keyShare;

    /** Refuses a key share for {@code command}, which fills the cache itself (the engine is what gives keys back). */
    void refuseKeyShare(String command) {
        if (keyShare != 1) {
            throw new IllegalArgumentException("--kv-key-share applies to serve and generate (their engine gives ShadowKV's "
                    + "factored keys back); " + command + " keeps every key");
        }
    }

    /** The one cache configuration asked for. */
    KvCacheConfig config() {
        return new KvCacheConfig(single(keys(), "--cache-type-k"), single(values(), "--cache-type-v"), rotate, zipOptions(), keyShare);
    }

    /** Every (key type, value type) combination asked for (bench), keys outermost. */
    List<KvCacheConfig> configs() {
        List<KvCacheConfig> all = new java.util.ArrayList<>();
        for (KvCacheType k : keys()) {
            for (KvCacheType v : values()) {
                all.add(new KvCacheConfig(k, v, rotate, zipOptions(), keyShare));
            }
        }
        return all;
    }

    private ZipOptions zipOptions() {
        return ZipOptions.parse(zip);
    }

    List<KvCacheType> keys() {
        return parse(keyTypes);
    }

    List<KvCacheType> values() {
        return parse(valueTypes);
    }

    private static List<KvCacheType> parse(List<String> names) {
        return names == null || names.isEmpty() ? List.of(KvCacheType.DEFAULT) : names.stream().map(KvCacheType::parse).toList();
    }

    private static KvCacheType single(List<KvCacheType> types, String flag) {
        if (types.size() > 1) {
            throw new IllegalArgumentException("give one type to " + flag + "; only bench takes a list");
        }
        return types.getFirst();
    }
}
