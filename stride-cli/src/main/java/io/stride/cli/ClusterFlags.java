package io.stride.cli;

import io.stride.core.engine.EngineBuilder;
import io.stride.core.kv.KvCacheSize;
import io.stride.server.ServerMetrics;
import io.stride.server.StrideServer;
import io.stride.server.cluster.KvEventPublisher;
import io.stride.server.cluster.HttpPrefillHandoff;
import io.stride.server.cluster.RedisKvStore;
import picocli.CommandLine.Option;

import java.time.Duration;

/**
 * Running several replicas: the shared KV tier ({@code --kv-store}) and prefill/decode disaggregation ({@code --role},
 * {@code --prefill-url}); see docs/scale-out.md.
 */
final class ClusterFlags {
    enum Role { both, prefill, decode }

    @Option(names = "--kv-store", paramLabel = "redis://HOST:PORT",
            description = "Share prefix KV blocks with other replicas through this Valkey/Redis server (LMCache-style): computed "
                    + "blocks are stored under their chain hash, missing ones fetched before computing. Needs the prefix cache.")
    String kvStore;
    @Option(names = "--kv-store-prefix", defaultValue = "stride:kv", description = "Key prefix in the store (default ${DEFAULT-VALUE}).")
    String prefix;
    @Option(names = "--kv-store-ttl", defaultValue = "0", description = "Seconds a stored block lives (0, default: until the store's "
            + "own eviction, e.g. maxmemory-policy allkeys-lru).")
    long ttl;
    @Option(names = "--kv-store-timeout", defaultValue = "2000", description = "Milliseconds a store call may take; a failed call "
            + "skips the store for 5 s (default ${DEFAULT-VALUE}).")
    int storeTimeout;
    @Option(names = "--role", defaultValue = "both", description = "both (default): prefill and decode here; prefill: also answer "
            + "POST /internal/prefill by publishing a prompt's KV to --kv-store; decode: hand each prompt to --prefill-url first, "
            + "then fetch its KV from --kv-store (computed here when the handoff fails).")
    Role role;
    @Option(names = "--prefill-url", paramLabel = "URL", description = "The prefill server of a --role decode server, e.g. http://10.0.0.5:8080.")
    String prefillUrl;
    @Option(names = "--prefill-timeout", defaultValue = "60", description = "Seconds a prefill handoff may take (default ${DEFAULT-VALUE}).")
    int prefillTimeout;
    @Option(names = "--prefill-api-key", description = "API key of the prefill server (default: the first --api-key).")
    String prefillApiKey;
    @Option(names = "--kv-events", arity = "0..1", fallbackValue = "tcp://127.0.0.1:5557", paramLabel = "ENDPOINT",
            description = "Publish KV-cache events (block stored/removed, with hashes and tokens) as vLLM does, on a ZeroMQ PUB "
                    + "socket bound here (default when given without a value: tcp://127.0.0.1:5557, loopback; in a pod use "
                    + "tcp://*:5557), topic kv@POD@MODEL, for llm-d's precise prefix-cache scorer.")
    String kvEvents;
    @Option(names = "--kv-events-pod", description = "POD in the event topic (default: $POD_NAME, else the host name).")
    String pod;

    /** Checks the combination; an error naming the option otherwise. */
    void check(boolean prefixCache) {
        if (role != Role.both && kvStore == null) {
            throw new IllegalArgumentException("--role " + role + " needs --kv-store: prefill and decode servers meet there");
        }
        if (role == Role.decode && prefillUrl == null) {
            throw new IllegalArgumentException("--role decode needs --prefill-url");
        }
        if (role != Role.decode && prefillUrl != null) {
            throw new IllegalArgumentException("--prefill-url applies to --role decode only");
        }
        if (kvStore != null && !prefixCache) {
            throw new IllegalArgumentException("--kv-store needs the prefix cache (drop --no-prefix-cache)");
        }
        if (storeTimeout < 1 || prefillTimeout < 1) {
            throw new IllegalArgumentException("--kv-store-timeout and --prefill-timeout must be positive");
        }
    }

    /** Connects the engine to the store (and the prefill server); returns a description for the log, or null. */
    String configure(EngineBuilder b, java.util.List<String> apiKeys) {
        if (kvStore == null) {
            return null;
        }
        RedisKvStore store = new RedisKvStore(kvStore, storeTimeout, ttl);
        try {
            store.ping();
        } catch (RuntimeException e) {
            // not fatal: a replica starts without its store and uses it once it answers
            System.err.println("stride: warning: --kv-store " + store.describe() + " does not answer (" + e.getMessage()
                    + "); serving without it until it does");
        }
        String key = prefillApiKey != null ? prefillApiKey : apiKeys.isEmpty() ? null : apiKeys.getFirst();
        var handoff = role == Role.decode ? new HttpPrefillHandoff(prefillUrl, Duration.ofSeconds(prefillTimeout), key) : null;
        b.kvStore(store, prefix, handoff);
        return "KV store " + store.describe() + " (role " + role + (handoff != null ? ", prefill at " + handoff.describe() : "") + ")";
    }

    /** The KV event publisher (null: off), feeding on {@code metrics}' engine events. */
    KvEventPublisher events(ServerMetrics metrics, String model) {
        if (kvEvents == null) {
            return null;
        }
        String name = pod != null ? pod : System.getenv("POD_NAME") != null ? System.getenv("POD_NAME") : hostName();
        KvEventPublisher p = new KvEventPublisher(kvEvents, name, model, KvCacheSize.BLOCK_SIZE, "CPU");
        metrics.kvEvents(p);
        return p;
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "stride";
        }
    }

    void configure(StrideServer server) {
        if (role == Role.prefill) {
            server.prefillRole(Duration.ofSeconds(prefillTimeout));
        }
    }
}
