package io.stride.cli;

import io.stride.core.kv.KvCacheConfig;
import io.stride.core.kv.KvCacheType;
import picocli.CommandLine.Option;

import java.util.List;

/** The KV cache types, in llama.cpp's spelling ({@code -ctk} / {@code -ctv}); bench takes lists. */
final class KvFlags {
    @Option(names = {"-ctk", "--cache-type-k"}, split = ",", paramLabel = "TYPE",
            description = "How keys are cached: f32, f16 (default), bf16, q8_0 or q4_0 (bench takes a list).")
    List<String> keyTypes;

    @Option(names = {"-ctv", "--cache-type-v"}, split = ",", paramLabel = "TYPE",
            description = "How values are cached: f32, f16 (default), bf16, q8_0 or q4_0 (bench takes a list).")
    List<String> valueTypes;

    @Option(names = "--kv-rotation", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Store quantized keys and values rotated by a Walsh-Hadamard matrix, as llama.cpp does (default on; "
                    + "--no-kv-rotation to store them as computed).")
    boolean rotate;

    /** The one cache configuration asked for. */
    KvCacheConfig config() {
        return new KvCacheConfig(single(keys(), "--cache-type-k"), single(values(), "--cache-type-v"), rotate);
    }

    /** Every (key type, value type) combination asked for (bench), keys outermost. */
    List<KvCacheConfig> configs() {
        List<KvCacheConfig> all = new java.util.ArrayList<>();
        for (KvCacheType k : keys()) {
            for (KvCacheType v : values()) {
                all.add(new KvCacheConfig(k, v, rotate));
            }
        }
        return all;
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
