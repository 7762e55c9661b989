package io.stride.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.model.ForwardProfile;
import io.stride.core.model.Model;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.kv.KvCacheConfig;
import io.stride.core.sparse.SparseAttention;
import io.stride.core.tools.Benchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * llama-bench's test matrix: for each thread count, a pp test per prompt size and a tg test per generation length, each
 * at every KV depth; results as a markdown table, one JSON array, or JSON lines.
 */
@Command(name = "bench", description = "Measure prompt processing (pp) and token generation (tg) speed, as llama-bench does.")
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    @Option(names = {"-m", "--model"}, required = true, description = "GGUF model file.")
    Path model;
    @Option(names = {"-p", "--n-prompt"}, split = ",", defaultValue = "512", description = "Prompt sizes for pp, comma-separated; 0 = skip (default ${DEFAULT-VALUE}).")
    List<Integer> prompts;
    @Option(names = {"-n", "--n-gen"}, split = ",", defaultValue = "128", description = "Generation lengths for tg, comma-separated; 0 = skip (default ${DEFAULT-VALUE}).")
    List<Integer> gens;
    @Option(names = {"-d", "--n-depth"}, split = ",", defaultValue = "0", description = "Tokens already in the KV cache when each test starts, comma-separated (default ${DEFAULT-VALUE}).")
    List<Integer> depths;
    @Option(names = {"-r", "--repetitions"}, defaultValue = "5", description = "Repetitions of each test (default ${DEFAULT-VALUE}).")
    int reps;
    @Mixin
    LoadFlags load;
    @Mixin
    KvFlags kv;
    @Option(names = {"-o", "--output"}, paramLabel = "md|json|jsonl", description = "Output format: md (a table; the default), json (one array) or jsonl (one object per line).")
    String output;
    @Option(names = "--json", description = "Same as --output jsonl.")
    boolean json;
    @Option(names = "--sparse-attention", paramLabel = "MODE", defaultValue = "none",
            description = "Sparse attention of the tg tokens (as serve's; repeat the option for one row per mode; pp rows are "
                    + "dense and run for the first mode only).")
    List<String> sparseModes;
    @Option(names = "--profile", description = "Also report how a pp pass's and a decode step's time split across the parts of the forward pass.")
    boolean profile;

    @Override
    public Integer call() throws Exception {
        String format = output != null ? output : json ? "jsonl" : "md";
        if (!List.of("md", "json", "jsonl").contains(format)) {
            throw new IllegalArgumentException("--output must be md, json or jsonl, got '" + output + "'");
        }
        check(prompts, "-p", 0, 1 << 20);
        check(gens, "-n", 0, 1 << 20);
        check(depths, "-d", 0, 1 << 20);
        if (prompts.stream().allMatch(p -> p == 0) && gens.stream().allMatch(n -> n == 0)) {
            throw new IllegalArgumentException("-p and -n must not both be 0");
        }
        if (reps < 1 || reps > 1000) {
            throw new IllegalArgumentException("-r must be between 1 and 1000, got " + reps);
        }
        kv.configs(); // the cache types, checked before the model loads
        kv.refuseKeyShare("bench");
        List<SparseAttention> modes = new ArrayList<>();
        for (String s : sparseModes) {
            try {
                modes.add(SparseAttention.parse(s));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--sparse-attention: " + e.getMessage());
            }
        }
        List<Integer> threads = load.threadCounts();
        check(threads, "--threads", 1, 1024);
        PrintWriter out = spec.commandLine().getOut();
        ObjectMapper mapper = new ObjectMapper();
        List<Map<String, Object>> all = new ArrayList<>();
        int maxThreads = threads.stream().mapToInt(Integer::intValue).max().orElseThrow();
        try (Model m = Model.open(model, load.options(maxThreads), io.stride.core.tools.Progress.NONE)) {
            int longest = Math.max(max(prompts), max(gens) + 1) + max(depths);
            if (longest > m.config().contextLength()) {
                spec.commandLine().getErr().println("note: the longest test runs past the model's context length " + m.config().contextLength());
            }
            if (format.equals("md")) {
                out.printf("| %-40s | %-14s | %7s | %-5s | %-5s | %8s | %18s | %9s |%n", "model", "test", "threads", "ctk", "ctv",
                        "size MiB", "tokens/s", "GB/s");
                out.printf("|%s|%s|%s|%s|%s|%s|%s|%s|%n", "-".repeat(42), "-".repeat(16), "-".repeat(9), "-".repeat(7), "-".repeat(7),
                        "-".repeat(10), "-".repeat(20), "-".repeat(11));
                out.flush();
            }
            for (int t : threads) {
                try (WorkerPool pool = new WorkerPool(t)) {
                    for (KvCacheConfig kc : kv.configs()) {
                        for (SparseAttention mode : modes) {
                            SparseAttention sa = mode == null ? null : mode.forLayers(m.config().layers(), m.config().kvDimK());
                            Benchmark b = new Benchmark(m, pool, kc, sa);
                            for (int d : depths) {
                                for (int p : prompts) {
                                    if (p > 0 && mode == modes.getFirst()) report(out, mapper, format, all, m, kc, null, b.promptProcessing(p, reps, d));
                                }
                                for (int n : gens) {
                                    if (n > 0) report(out, mapper, format, all, m, kc, sa, b.tokenGeneration(n, reps, d));
                                }
                            }
                            if (profile) profile(out, mapper, format, all, b, t);
                        }
                    }
                }
            }
        }
        if (format.equals("json")) {
            out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(all));
            out.flush();
        }
        return 0;
    }

    private static void check(List<Integer> values, String flag, int min, int max) {
        for (int v : values) {
            if (v < min || v > max) {
                throw new IllegalArgumentException(flag + " values must be between " + min + " and " + max + ", got " + v);
            }
        }
    }

    private static int max(List<Integer> values) {
        return values.stream().mapToInt(Integer::intValue).max().orElse(0);
    }

    private void report(PrintWriter out, ObjectMapper mapper, String format, List<Map<String, Object>> all, Model m,
                        KvCacheConfig kc, SparseAttention sa, Benchmark.Result r) throws Exception {
        String test = sa == null ? r.test() : r.test() + " " + sa;
        if (format.equals("md")) {
            out.printf("| %-40s | %-14s | %7d | %-5s | %-5s | %8.1f | %9.2f ± %6.2f | %9s |%n", model.getFileName(), test, r.threads(),
                    kc.keys(), kc.values(),
                    m.weights().bytesPerToken() / 1048576.0, r.mean(), r.stddev(),
                    r.bytesPerToken() > 0 ? String.format("%.2f", r.gbPerSecond()) : "");
            out.flush();
            return;
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model", model.getFileName().toString());
        o.put("test", r.test());
        o.put("threads", r.threads());
        o.put("sparse_attention", sa == null ? "none" : sa.toString());
        o.put("type_k", kc.keys().label());
        o.put("type_v", kc.values().label());
        o.put("tokens_per_s", r.mean());
        o.put("stddev", r.stddev());
        o.put("median", r.median());
        o.put("gb_per_s", r.gbPerSecond());
        o.put("weight_bytes_per_token", m.weights().bytesPerToken());
        o.put("samples", r.tokensPerSecond());
        emit(out, mapper, format, all, o);
    }

    private void emit(PrintWriter out, ObjectMapper mapper, String format, List<Map<String, Object>> all, Map<String, Object> o)
            throws Exception {
        if (format.equals("json")) {
            all.add(o);
        } else {
            out.println(mapper.writeValueAsString(o));
            out.flush();
        }
    }

    /** Profiles the first pp size (at depth 0) and the first tg size at the first depth. */
    private void profile(PrintWriter out, ObjectMapper mapper, String format, List<Map<String, Object>> all, Benchmark b, int t)
            throws Exception {
        int p = prompts.stream().filter(v -> v > 0).findFirst().orElse(0);
        int n = gens.stream().filter(v -> v > 0).findFirst().orElse(0);
        if (p > 0) {
            ForwardProfile f = b.profilePromptProcessing(p);
            printProfile(out, mapper, format, all, "profile-pp" + p, t, "ms_per_pass", f.total() / 1e6 / Math.max(1, f.forwards()), f);
        }
        if (n > 0) {
            int d = depths.getFirst();
            ForwardProfile f = b.profileGeneration(n, d);
            printProfile(out, mapper, format, all, "profile-tg" + n + (d > 0 ? " @ d" + d : ""), t, "ms_per_token", f.total() / 1e6 / Math.max(1, f.forwards() - 1), f);
        }
    }

    private void printProfile(PrintWriter out, ObjectMapper mapper, String format, List<Map<String, Object>> all, String test,
                              int threads, String unit, double ms, ForwardProfile p) throws Exception {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("test", test);
        o.put("threads", threads);
        o.put(unit, ms);
        p.shares().forEach((part, share) -> o.put(part.name().toLowerCase(java.util.Locale.ROOT), share));
        if (format.equals("md")) {
            out.println(test + " split (share of time): " + o);
            out.flush();
        } else {
            emit(out, mapper, format, all, o);
        }
    }
}
