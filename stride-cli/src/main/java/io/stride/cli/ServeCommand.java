package io.stride.cli;

import io.stride.core.engine.EngineConfig;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Model;
import io.stride.core.model.ModelConfig;
import io.stride.core.model.Transformer;
import io.stride.core.tensor.WorkerPool;
import io.stride.server.ServerConfig;
import io.stride.server.ServerMetrics;
import io.stride.server.StrideServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import io.stride.core.engine.SpeculationConfig;
import io.stride.core.spec.DraftMethod;
import io.stride.core.spec.DraftMethods;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

@Command(name = "serve", description = "Serve a model over the OpenAI HTTP API with continuous batching, chunked prefill and prefix caching.")
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    @Option(names = {"-m", "--model"}, required = true, description = "GGUF model file.")
    Path model;
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind (default ${DEFAULT-VALUE}).")
    String host;
    @Option(names = "--port", defaultValue = "8080", description = "Port (default ${DEFAULT-VALUE}; 0 = any free port).")
    int port;
    @Option(names = "--api-key", description = "Require Authorization: Bearer KEY on every route but /health.")
    String apiKey;
    @Option(names = "--alias", description = "Model name served (default: the file name without .gguf).")
    String alias;
    @Option(names = "--max-batch-tokens", defaultValue = "128", description = "Tokens per engine step: decodes first, then prompt chunks (default ${DEFAULT-VALUE}).")
    int maxBatchTokens;
    @Option(names = "--kv-blocks", description = "KV cache size in blocks of " + Defaults.BLOCK_SIZE + " positions.")
    Integer kvBlocks;
    @Option(names = "--kv-memory", description = "KV cache size as memory, e.g. 512M or 2G (instead of --kv-blocks).")
    String kvMemory;
    @Option(names = "--max-seqs", defaultValue = "32", description = "Sequences running at once (default ${DEFAULT-VALUE}).")
    int maxSeqs;
    @Option(names = "--max-queue", defaultValue = "256", description = "Waiting requests before answering 429 (default ${DEFAULT-VALUE}).")
    int maxQueue;
    @Option(names = {"-c", "--ctx"}, defaultValue = "0", description = "Context length per sequence (default: the model's, at most 4096).")
    int ctx;
    @Option(names = {"-t", "--threads"}, description = "Worker threads (default: all cores).")
    Integer threads;
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

    /** Shared defaults. */
    static final class Defaults {
        static final int BLOCK_SIZE = 16;
    }

    /** Set by tests to learn the bound port and stop the server. */
    static volatile java.util.function.Consumer<Running> onStarted;

    /** A started server, for tests. */
    record Running(int port, Runnable stop) {}

    @Override
    public Integer call() throws Exception {
        int t = threads != null ? threads : WorkerPool.defaultThreads();
        if (t < 1 || t > 1024) throw new IllegalArgumentException("--threads must be between 1 and 1024, got " + t);
        if (kvBlocks != null && kvMemory != null) throw new IllegalArgumentException("give --kv-blocks or --kv-memory, not both");
        if (kvBlocks != null && kvBlocks < 1) throw new IllegalArgumentException("--kv-blocks must be >= 1");
        if (ctx < 0) throw new IllegalArgumentException("--ctx must be positive");
        Model m = Model.open(model);
        WorkerPool pool = new WorkerPool(t);
        try {
            ModelConfig c = m.config();
            int context = ctx > 0 ? ctx : Math.min(c.contextLength(), 4096);
            long bytesPerBlock = (long) c.layers() * Defaults.BLOCK_SIZE * (c.kvDimK() + c.kvDimV()) * 4L;
            int blocks;
            if (kvBlocks != null) {
                blocks = kvBlocks;
            } else if (kvMemory != null) {
                blocks = (int) Math.max(1, Math.min(Integer.MAX_VALUE, parseSize(kvMemory) / bytesPerBlock));
            } else {
                long wanted = (long) maxSeqs * ((context + Defaults.BLOCK_SIZE - 1) / Defaults.BLOCK_SIZE);
                long budget = Runtime.getRuntime().maxMemory() / 3 / bytesPerBlock;
                blocks = (int) Math.max(1, Math.min(wanted, budget));
            }
            Transformer tf = new Transformer(m, pool);
            PagedKvCache cache = tf.newCache(Defaults.BLOCK_SIZE, blocks);
            EngineConfig ec = new EngineConfig(maxBatchTokens, maxSeqs, maxQueue, context, !noChunking, !noPrefixCache);
            ServerMetrics metrics = new ServerMetrics();
            String name = alias != null ? alias : model.getFileName().toString().replaceFirst("\\.gguf$", "");
            ServerConfig sc = new ServerConfig(host, port, name, apiKey, maxTokensCap > 0 ? maxTokensCap : context,
                    defaultMaxTokens, 8, 4L << 20);
            Map<String, DraftMethod> methods = new LinkedHashMap<>();
            try {
                for (String sp : specs) {
                    DraftMethod dm = DraftMethods.create(sp.trim(), m, pool, context, maxSeqs);
                    if (methods.putIfAbsent(dm.name(), dm) != null) {
                        dm.close();
                        throw new IllegalArgumentException("--spec lists drafter '" + dm.name() + "' twice");
                    }
                }
            } catch (RuntimeException e) {
                methods.values().forEach(DraftMethod::close);
                throw e;
            }
            SpeculationConfig specConfig = new SpeculationConfig(methods, methods.isEmpty() ? null : methods.keySet().iterator().next(), specMax);
            try (InferenceEngine engine = new InferenceEngine(m, tf, cache, ec, metrics, specConfig);
                 StrideServer server = new StrideServer(sc, engine, metrics, model.getFileName().toString())) {
                int bound = server.start();
                spec.commandLine().getErr().printf(Locale.ROOT, "stride: serving %s on http://%s:%d (KV cache %d blocks = %.0f MiB, ctx %d, batch %d tokens, %d threads)%n",
                        name, host, bound, blocks, blocks * (double) bytesPerBlock / 1048576, context, maxBatchTokens, t);
                spec.commandLine().getErr().flush();
                CountDownLatch stop = new CountDownLatch(1);
                Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
                var hook = onStarted;
                if (hook != null) {
                    hook.accept(new Running(bound, stop::countDown));
                }
                stop.await();
            } finally {
                methods.values().forEach(DraftMethod::close);
            }
        } finally {
            pool.close();
            m.close();
        }
        return 0;
    }

    static long parseSize(String s) {
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
            throw new IllegalArgumentException("--kv-memory expects a size like 512M or 2G, got '" + s + "'");
        }
    }
}
