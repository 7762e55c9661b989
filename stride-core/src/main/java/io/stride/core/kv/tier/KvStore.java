package io.stride.core.kv.tier;

import java.util.List;

/**
 * A key-value store shared by replicas (Valkey or Redis in the server; a map in tests). Values are opaque byte
 * arrays; the store bounds itself (its own eviction, LRU or TTL). Calls may block on the network and may throw:
 * callers treat any failure as a miss.
 */
public interface KvStore extends AutoCloseable {
    /** The values of {@code keys} in order, null where absent. */
    List<byte[]> getAll(List<String> keys) throws Exception;

    /** Whether each of {@code keys} is present, in order. */
    boolean[] existAll(List<String> keys) throws Exception;

    /** Stores {@code value} under {@code key} unless the key exists (first writer wins). */
    void putIfAbsent(String key, byte[] value) throws Exception;

    /** Where it is, for logs (no credentials). */
    String describe();

    @Override
    default void close() {}
}
