package io.stride.cli;

import io.stride.core.engine.EngineBuilder;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.engine.Pooling;
import io.stride.core.engine.SpeculationConfig;
import io.stride.core.engine.Warmup;
import io.stride.core.kv.KvCacheSize;
import io.stride.core.model.LoadOptions;
import io.stride.core.model.Model;
import io.stride.core.model.ModelConfig;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.spec.DraftMethod;
import io.stride.core.spec.DraftMethods;
import io.stride.server.ServerConfig;
import io.stride.server.ServerMetrics;
import io.stride.server.StrideServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "serve", description = "Serve a model over the OpenAI HTTP API with continuous batching, chunked prefill and prefix caching.")
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    @Option(names = {"-m", "--model"}, description = "GGUF model file (or -hf).")
    Path model;
    @Option(names = {"-hf", "--hf-repo"}, paramLabel = "OWNER/NAME[:QUANT]", description = "Fetch the model from Hugging Face (cached; see 'stride pull').")
    String hfRepo;
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind (default ${DEFAULT-VALUE}).")
    String host;
    @Option(names = "--port", defaultValue = "8080", description = "Port (default ${DEFAULT-VALUE}; 0 = any free port).")
    int port;
    @Option(names = "--api-key", description = "Require Authorization: Bearer KEY on every route but the probes /health and /ready "
            + "(repeat for several keys).")
    List<String> apiKeys = new ArrayList<>();
    @Option(names = "--max-concurrent-per-key", defaultValue = "0", description = "Generation requests one API key (without keys: one "
            + "client address) may have in flight; more get 429 (default ${DEFAULT-VALUE}: no limit).")
    int maxConcurrentPerKey;
    @Option(names = "--max-body", defaultValue = "4M", description = "Largest request body, whatever its framing (default ${DEFAULT-VALUE}).")
    String maxBody;
    @Option(names = "--body-timeout", defaultValue = "30", description = "Seconds a request body may take to arrive, and the idle "
            + "timeout of connections; slower bodies get 408 (default ${DEFAULT-VALUE}).")
    int bodyTimeout;
    @Option(names = "--shutdown-timeout", defaultValue = "30", description = "On SIGTERM/SIGINT: seconds running requests may take to "
            + "finish before they are ended (default ${DEFAULT-VALUE}).")
    int shutdownTimeout;
    @Option(names = "--repetition-guard", defaultValue = "0", description = "End a request (finish_reason \"length\") when its last N "
            + "generated tokens repeat one pattern of up to N/4 tokens; 0 = off (default ${DEFAULT-VALUE}).")
    int repetitionGuard;
    @Option(names = "--no-jump-forward", description = "Sample every token of constrained output, also the text its grammar forces.")
    boolean noJumpForward;
    @Option(names = "--alias", description = "Model name served (default: the file name without .gguf).")
    String alias;
    @Option(names = "--max-batch-tokens", defaultValue = "128", description = "Tokens per engine step: decodes first, then prompt chunks (default ${DEFAULT-VALUE}).")
    int maxBatchTokens;
    @Option(names = "--kv-blocks", description = "KV cache size in blocks of " + KvCacheSize.BLOCK_SIZE + " positions.")
    Integer kvBlocks;
    @Option(names = "--kv-memory", description = "KV cache size as memory, e.g. 512M or 2G (instead of --kv-blocks; default: room for "
            + "min(--max-seqs, " + KvCacheSize.DEFAULT_FULL_CONTEXTS + ") sequences of the whole context).")
    String kvMemory;
    @Option(names = "--max-seqs", defaultValue = "32", description = "Sequences running at once (default ${DEFAULT-VALUE}).")
    int maxSeqs;
    @Option(names = "--max-queue", defaultValue = "256", description = "Waiting requests before answering 429 (default ${DEFAULT-VALUE}).")
    int maxQueue;
    @Option(names = {"-c", "--ctx"}, defaultValue = "0", description = "Context length per sequence (default: the model's, at most 4096).")
    int ctx;
    @Mixin
    LoadFlags load;
    @Mixin
    KvFlags kv;
    @Mixin
    SparseFlags sparse;
    @Mixin
    DiffusionFlags diffusion;
    @Option(names = "--max-tokens-cap", defaultValue = "0", description = "Largest max_tokens honoured (default: the context length).")
    int maxTokensCap;
    @Option(names = "--default-max-tokens", defaultValue = "256", description = "max_tokens when a request gives none (default ${DEFAULT-VALUE}).")
    int defaultMaxTokens;
    @Option(names = "--no-chunked-prefill", description = "Run each prompt whole in one step (stalls running streams; for comparison).")
    boolean noChunking;
    @Option(names = "--no-prefix-cache", description = "Disable automatic prefix caching.")
    boolean noPrefixCache;
    @Option(names = "--spec", split = ",", description = "Speculative decoding drafters to load, comma-separated (" + DraftMethods.HELP
            + "); the first is used by requests that do not choose one with the \"speculation\" field (\"none\" turns it off).")
    List<String> specs = new ArrayList<>();
    @Option(names = "--spec-max", defaultValue = "16", description = "Most drafted tokens per sequence and step (default ${DEFAULT-VALUE}).")
    int specMax;

    @Option(names = "--pooling", defaultValue = "MEAN", description = "How /v1/embeddings pools a text's hidden states: ${COMPLETION-CANDIDATES} "
            + "(default ${DEFAULT-VALUE}).")
    Pooling pooling;
    @Option(names = "--cors-origin", split = ",", description = "Origins browsers may call the API from; * = any, none = no CORS "
            + "(default: *).")
    List<String> corsOrigins = new ArrayList<>(List.of("*"));
    @Mixin
    ClusterFlags cluster;
    @Option(names = "--no-warmup", description = "Open at once, without first running a few requests to compile the hot paths.")
    boolean noWarmup;

    /** Weight types and size, e.g. "F16 weights (50 MB)". */
    private static String describeWeights(Model m) {
        java.util.Map<String, Long> bytes = new java.util.TreeMap<>();
        for (var t : m.file().tensors().values()) bytes.merge(t.type().name(), t.byteSize(), Long::sum);
        long total = bytes.values().stream().mapToLong(Long::longValue).sum();
        String main = bytes.entrySet().stream().max(java.util.Map.Entry.comparingByValue()).map(java.util.Map.Entry::getKey).orElse("?");
        return String.format(Locale.ROOT, "%s weights (%.0f MB)", main, total / 1e6);
    }

    /** Set by tests to learn the bound port and stop the server. */
    static volatile java.util.function.Consumer<Running> onStarted;

    /** A started server, for tests. */
    record Running(int port, Runnable stop) {}

    @Override
    public Integer call() throws Exception {
        model = PullCommand.modelPath(spec, model, hfRepo);
        LoadOptions loadOptions = load.options();
        int t = loadOptions.threads();
        if (kvBlocks != null && kvMemory != null) throw new IllegalArgumentException("give --kv-blocks or --kv-memory, not both");
        if (kvBlocks != null && kvBlocks < 1) throw new IllegalArgumentException("--kv-blocks must be >= 1");
        if (ctx < 0) throw new IllegalArgumentException("--ctx must be positive");
        if (bodyTimeout < 1) throw new IllegalArgumentException("--body-timeout must be at least 1 second");
        if (shutdownTimeout < 0) throw new IllegalArgumentException("--shutdown-timeout must be >= 0");
        if (maxConcurrentPerKey < 0) throw new IllegalArgumentException("--max-concurrent-per-key must be >= 0");
        long started = System.nanoTime();
        PrintWriter err = spec.commandLine().getErr();
        kv.config(); // the cache types, checked before the model loads
        cluster.check(!noPrefixCache);
        var sparseMode = sparse.mode();
        try (ModelSession ms = new ModelSession(model, loadOptions, err)) {
            Model m = ms.model;
            ModelConfig c = m.config();
            ServerMetrics metrics = new ServerMetrics();
            EngineBuilder b = EngineBuilder.of(m, ms.pool).kvCache(kv.config()).context(ctx).kvBlocks(kvBlocks)
                    .kvMemory(kvMemory == null ? null : parseSize(kvMemory, "--kv-memory")).maxSequences(maxSeqs)
                    .maxBatchTokens(maxBatchTokens).maxQueue(maxQueue).chunkedPrefill(!noChunking).prefixCaching(!noPrefixCache)
                    .repetitionWindow(repetitionGuard).jumpForward(!noJumpForward).sparseAttention(sparseMode).listener(metrics).warmup(noWarmup ? 0 : 30_000_000_000L);
            if (m.isDiffusion()) {
                if (spec.commandLine().getParseResult().hasMatchedOption("--diffusion-steps")) {
                    throw new IllegalArgumentException("--diffusion-steps is per answer length; serve takes --diffusion-tokens-per-step");
                }
                b.diffusion(diffusion.options());
            } else {
                DiffusionFlags.rejectFor(spec.commandLine().getParseResult(), model);
            }
            String shared = cluster.configure(b, apiKeys);
            int context = b.context();
            KvCacheSize kvSize = b.kvSize();
            err.printf(Locale.ROOT, "stride: %s %s, %d layers, vocab %d; KV cache %.0f MiB (%s; %d positions: %s)%n",
                    c.arch().name(), describeWeights(m), c.layers(), c.vocab(), kvSize.bytes() / 1048576.0, kv.config(),
                    kvSize.positions(),
                    kvBlocks != null || kvMemory != null ? "as asked" : "room for " + Math.min(maxSeqs, KvCacheSize.DEFAULT_FULL_CONTEXTS)
                            + " sequences of " + context + " tokens; set --kv-memory to change");
            String name = alias != null ? alias : model.getFileName().toString().replaceFirst("\\.gguf$", "");
            ServerConfig sc = ServerConfig.of(host, port, name, maxTokensCap > 0 ? maxTokensCap : context, defaultMaxTokens)
                    .withApiKeys(apiKeys).withMaxConcurrentPerKey(maxConcurrentPerKey)
                    .withBodyLimits(parseSize(maxBody, "--max-body"), Duration.ofSeconds(bodyTimeout))
                    .withPooling(pooling).withCorsOrigins(corsOrigins.contains("none") ? List.of() : corsOrigins);
            Map<String, DraftMethod> methods = new LinkedHashMap<>();
            try {
                for (String sp : specs) {
                    DraftMethod dm = DraftMethods.create(sp.trim(), m, ms.pool, context, maxSeqs);
                    if (methods.putIfAbsent(dm.name(), dm) != null) {
                        dm.close();
                        throw new IllegalArgumentException("--spec lists drafter '" + dm.name() + "' twice");
                    }
                }
                b.speculation(new SpeculationConfig(methods, methods.isEmpty() ? null : methods.keySet().iterator().next(), specMax));
                if (!noWarmup && !m.isDiffusion()) {
                    err.print("stride: warming up the JIT ...");
                    err.flush();
                }
                long w0 = System.nanoTime();
                try (Shutdown shutdown = Shutdown.onSignals();
                     var events = cluster.events(metrics, name);
                     InferenceEngine engine = b.build();
                     StrideServer server = new StrideServer(sc, engine, metrics, model.getFileName().toString())) {
                    cluster.configure(server);
                    if (shared != null) {
                        err.println("stride: " + shared);
                    }
                    if (b.warmupReport() != null) {
                        Warmup.Report wr = b.warmupReport();
                        err.printf(Locale.ROOT, " %d rounds, %.1f s (first %.2f s, last %.2f s)%n", wr.rounds(), (System.nanoTime() - w0) / 1e9,
                                wr.firstSeconds(), wr.lastSeconds());
                    }
                    int bound = server.start();
                    err.printf(Locale.ROOT, "stride: ready in %.1f s: serving %s on http://%s:%d (ctx %d, batch %d tokens, %d threads)%n",
                            (System.nanoTime() - started) / 1e9, name, host, bound, context, maxBatchTokens, t);
                    err.flush();
                    var hook = onStarted;
                    if (hook != null) {
                        hook.accept(new Running(bound, () -> shutdown.request("stop requested")));
                    }
                    String why = shutdown.await();
                    err.printf(Locale.ROOT, "stride: %s: not accepting new requests; %d in flight get up to %d s to finish%n",
                            why, server.inFlight().size(), shutdownTimeout);
                    err.flush();
                    server.drain(Duration.ofSeconds(shutdownTimeout));
                }
            } finally {
                methods.values().forEach(DraftMethod::close);
            }
        }
        return 0;
    }

    static long parseSize(String s, String option) {
        String t = s.trim().toUpperCase(Locale.ROOT).replace("IB", "").replace("B", "");
        long mult = 1;
        if (t.endsWith("K")) { mult = 1L << 10; t = t.substring(0, t.length() - 1); }
        else if (t.endsWith("M")) { mult = 1L << 20; t = t.substring(0, t.length() - 1); }
        else if (t.endsWith("G")) { mult = 1L << 30; t = t.substring(0, t.length() - 1); }
        try {
            double v = Double.parseDouble(t);
            if (!(v > 0)) throw new NumberFormatException();
            return (long) (v * mult);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " expects a size like 512M or 2G, got '" + s + "'");
        }
    }
}
