package io.stride.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.model.ForwardProfile;
import io.stride.core.model.Model;
import io.stride.core.parallel.WorkerPool;
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

@Command(name = "bench", description = "Measure prompt processing (pp) and token generation (tg) speed, as llama-bench does.")
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    @Option(names = {"-m", "--model"}, required = true, description = "GGUF model file.")
    Path model;
    @Option(names = {"-p", "--n-prompt"}, defaultValue = "512", description = "Prompt tokens for pp, 0 = skip (default ${DEFAULT-VALUE}).")
    int prompt;
    @Option(names = {"-n", "--n-gen"}, defaultValue = "128", description = "Generated tokens for tg, 0 = skip (default ${DEFAULT-VALUE}).")
    int gen;
    @Option(names = {"-r", "--repetitions"}, defaultValue = "5", description = "Repetitions of each test (default ${DEFAULT-VALUE}).")
    int reps;
    @Mixin
    LoadFlags load;
    @Option(names = "--json", description = "One JSON object per test.")
    boolean json;
    @Option(names = "--profile", description = "Also report how a pp pass's and a decode step's time split across the parts of the forward pass.")
    boolean profile;

    @Override
    public Integer call() throws Exception {
        if (prompt < 0 || gen < 0 || (prompt == 0 && gen == 0)) {
            throw new IllegalArgumentException("-p and -n must be >= 0 and not both 0");
        }
        if (reps < 1 || reps > 1000) {
            throw new IllegalArgumentException("-r must be between 1 and 1000, got " + reps);
        }
        int t = load.options().threads();
        if (t < 1 || t > 1024) {
            throw new IllegalArgumentException("--threads must be between 1 and 1024, got " + t);
        }
        PrintWriter out = spec.commandLine().getOut();
        try (Model m = Model.open(model, load.options(), io.stride.core.tools.Progress.NONE); WorkerPool pool = new WorkerPool(t)) {
            if (prompt + gen + 1 > m.config().contextLength() && !json) {
                spec.commandLine().getErr().println("note: the test runs past the model's context length " + m.config().contextLength());
            }
            Benchmark b = new Benchmark(m, pool);
            List<Benchmark.Result> results = new ArrayList<>();
            if (prompt > 0) results.add(b.promptProcessing(prompt, reps));
            if (gen > 0) results.add(b.tokenGeneration(gen, reps));
            if (!json) {
                out.printf("| %-40s | %-6s | %7s | %8s | %18s | %9s |%n", "model", "test", "threads", "size MiB", "tokens/s", "GB/s");
                out.printf("|%s|%s|%s|%s|%s|%s|%n", "-".repeat(42), "-".repeat(8), "-".repeat(9), "-".repeat(10), "-".repeat(20), "-".repeat(11));
            }
            for (Benchmark.Result r : results) {
                if (json) {
                    Map<String, Object> o = new LinkedHashMap<>();
                    o.put("model", model.getFileName().toString());
                    o.put("test", r.test());
                    o.put("threads", r.threads());
                    o.put("tokens_per_s", r.mean());
                    o.put("stddev", r.stddev());
                    o.put("median", r.median());
                    o.put("gb_per_s", r.gbPerSecond());
                    o.put("weight_bytes_per_token", m.weights().bytesPerToken());
                    o.put("samples", r.tokensPerSecond());
                    out.println(new ObjectMapper().writeValueAsString(o));
                } else {
                    out.printf("| %-40s | %-6s | %7d | %8.1f | %9.2f ± %6.2f | %9s |%n", model.getFileName(), r.test(), r.threads(),
                            m.weights().bytesPerToken() / 1048576.0, r.mean(), r.stddev(),
                            r.bytesPerToken() > 0 ? String.format("%.2f", r.gbPerSecond()) : "");
                }
                out.flush();
            }
            if (profile && prompt > 0) {
                ForwardProfile p = b.profilePromptProcessing(prompt);
                printProfile(out, "profile-pp" + prompt, t, "ms_per_pass", p.total() / 1e6 / Math.max(1, p.forwards()), p);
            }
            if (profile && gen > 0) {
                ForwardProfile p = b.profileGeneration(gen);
                printProfile(out, "profile-tg" + gen, t, "ms_per_token", p.total() / 1e6 / Math.max(1, p.forwards() - 1), p);
            }
        }
        return 0;
    }

    private void printProfile(PrintWriter out, String test, int threads, String unit, double ms, ForwardProfile p)
            throws Exception {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("test", test);
        o.put("threads", threads);
        o.put(unit, ms);
        p.shares().forEach((part, share) -> o.put(part.name().toLowerCase(java.util.Locale.ROOT), share));
        if (json) {
            out.println(new ObjectMapper().writeValueAsString(o));
        } else {
            out.println(test + " split (share of time): " + o);
        }
        out.flush();
    }
}
