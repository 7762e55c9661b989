package io.stride.core.kv.tier;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** An in-process {@link KvStore} for tests; {@link #failing} makes every call throw, as a store that went away. */
public final class MapKvStore implements KvStore {
    public final Map<String, byte[]> map = new ConcurrentHashMap<>();
    public volatile boolean failing;

    @Override
    public List<byte[]> getAll(List<String> keys) {
        check();
        List<byte[]> out = new ArrayList<>(keys.size());
        for (String k : keys) {
            out.add(map.get(k));
        }
        return out;
    }

    @Override
    public boolean[] existAll(List<String> keys) {
        check();
        boolean[] out = new boolean[keys.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = map.containsKey(keys.get(i));
        }
        return out;
    }

    @Override
    public void putIfAbsent(String key, byte[] value) {
        check();
        map.putIfAbsent(key, value);
    }

    private void check() {
        if (failing) {
            throw new IllegalStateException("store unreachable");
        }
    }

    @Override
    public String describe() {
        return "memory";
    }
}
