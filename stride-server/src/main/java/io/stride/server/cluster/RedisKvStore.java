package io.stride.server.cluster;

import io.stride.core.kv.tier.KvStore;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.params.SetParams;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The shared KV tier on Valkey or Redis (Jedis, pooled connections): {@code MGET} for a prompt's chain of blocks,
 * {@code SET NX} (with {@code EX ttl} when a TTL is given) for each block computed. The store's own eviction bounds it
 * (configure {@code maxmemory} and {@code maxmemory-policy allkeys-lru} on the server).
 */
public final class RedisKvStore implements KvStore {
    private final JedisPooled jedis;
    private final String where;
    private final long ttlSeconds;

    /** {@code uri}: redis://[[user]:password@]host[:port][/db]; TTL 0: keys live until the store evicts them. */
    public RedisKvStore(String uri, int timeoutMillis, long ttlSeconds) {
        URI u;
        try {
            u = URI.create(uri);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--kv-store: not a URI: " + uri);
        }
        if (!"redis".equals(u.getScheme()) || u.getHost() == null) {
            throw new IllegalArgumentException("--kv-store expects redis://HOST[:PORT][/DB], got " + uri);
        }
        if (ttlSeconds < 0) {
            throw new IllegalArgumentException("--kv-store-ttl must be >= 0");
        }
        int port = u.getPort() < 0 ? 6379 : u.getPort();
        var cfg = DefaultJedisClientConfig.builder().connectionTimeoutMillis(timeoutMillis).socketTimeoutMillis(timeoutMillis)
                .clientName("stride");
        String info = u.getUserInfo();
        if (info != null) {
            int colon = info.indexOf(':');
            if (colon >= 0) {
                if (colon > 0) cfg.user(info.substring(0, colon));
                cfg.password(info.substring(colon + 1));
            } else {
                cfg.password(info);
            }
        }
        String path = u.getPath();
        if (path != null && path.length() > 1) {
            try {
                cfg.database(Integer.parseInt(path.substring(1)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--kv-store: database must be a number, got " + path.substring(1));
            }
        }
        JedisClientConfig c = cfg.build();
        this.jedis = new JedisPooled(new HostAndPort(u.getHost(), port), c);
        this.where = u.getHost() + ":" + port;
        this.ttlSeconds = ttlSeconds;
    }

    @Override
    public List<byte[]> getAll(List<String> keys) {
        byte[][] k = new byte[keys.size()][];
        for (int i = 0; i < k.length; i++) {
            k[i] = keys.get(i).getBytes(StandardCharsets.UTF_8);
        }
        return jedis.mget(k);
    }

    @Override
    public boolean[] existAll(List<String> keys) {
        boolean[] out = new boolean[keys.size()];
        try (var p = jedis.pipelined()) {
            List<redis.clients.jedis.Response<Boolean>> r = new java.util.ArrayList<>(keys.size());
            for (String k : keys) {
                r.add(p.exists(k));
            }
            p.sync();
            for (int i = 0; i < out.length; i++) {
                out[i] = r.get(i).get();
            }
        }
        return out;
    }

    @Override
    public void putIfAbsent(String key, byte[] value) {
        SetParams p = SetParams.setParams().nx();
        if (ttlSeconds > 0) {
            p.ex(ttlSeconds);
        }
        jedis.set(key.getBytes(StandardCharsets.UTF_8), value, p);
    }

    /** Round trip to the store (PING); throws when it cannot be reached. */
    public void ping() {
        jedis.ping();
    }

    @Override
    public String describe() {
        return "redis://" + where;
    }

    @Override
    public void close() {
        jedis.close();
    }
}
