package io.stride.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.engine.GenerationParams;
import io.stride.core.engine.GenerationResult;
import io.stride.core.engine.Generator;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.spec.NgramDrafter;
import io.stride.core.spec.SpeculativeGenerator;
import io.stride.core.tensor.WorkerPool;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

@Command(name = "bench-spec", description = "Run a workload with and without speculative decoding (greedy) and compare speed and outputs, per workload kind.")
final class BenchSpecCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    @Option(names = {"-m", "--model"}, required = true, description = "GGUF model file.")
    Path model;
    @Option(names = "--workload", required = true, description = "Prompt set (java-dev.jsonl format).")
    Path workload;
    @Option(names = "--spec", defaultValue = "ngram", description = "Drafter: ngram (default ${DEFAULT-VALUE}).")
    String drafter;
    @Option(names = "--spec-max", defaultValue = "8", description = "Most drafted tokens per step (default ${DEFAULT-VALUE}).")
    int specMax;
    @Option(names = {"-n", "--n-predict"}, defaultValue = "128", description = "Tokens per request (default ${DEFAULT-VALUE}).")
    int nPredict;
    @Option(names = "--limit", description = "Only the first N rows of each kind.")
    Integer limit;
    @Option(names = {"-t", "--threads"}, description = "Worker threads (default: all cores).")
    Integer threads;
    @Option(names = "--json", description = "One JSON object per kind.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (!drafter.equals("ngram")) {
            throw new IllegalArgumentException("--spec " + drafter + " is not available yet (available: ngram)");
        }
        if (nPredict < 1) throw new IllegalArgumentException("-n must be >= 1");
        if (limit != null && limit < 1) throw new IllegalArgumentException("--limit must be >= 1");
        Map<String, List<WorkloadFile.Row>> byKind = new TreeMap<>();
        for (WorkloadFile.Row r : WorkloadFile.read(workload).rows()) {
            byKind.computeIfAbsent(r.kind(), k -> new java.util.ArrayList<>()).add(r);
        }
        PrintWriter out = spec.commandLine().getOut();
        try (ModelSession s = new ModelSession(model, threads != null ? threads : WorkerPool.defaultThreads(), 0)) {
            Generator plain = new Generator(s.model, s.transformer, s.cache, s.context);
            PagedKvCache specCache = s.transformer.newCache(ModelSession.BLOCK_SIZE,
                    (s.context + specMax + 1 + ModelSession.BLOCK_SIZE - 1) / ModelSession.BLOCK_SIZE);
            SpeculativeGenerator specGen = new SpeculativeGenerator(s.model, s.transformer, specCache, s.context, new NgramDrafter(1, 4), specMax);
            GenerationParams params = GenerationParams.greedy(nPredict);
            boolean warmed = false;
            for (Map.Entry<String, List<WorkloadFile.Row>> e : byKind.entrySet()) {
                List<WorkloadFile.Row> rows = limit == null ? e.getValue() : e.getValue().subList(0, Math.min(limit, e.getValue().size()));
                long plainNanos = 0, specNanos = 0, plainTokens = 0, specTokens = 0, steps = 0, accepted = 0;
                boolean identical = true;
                for (WorkloadFile.Row row : rows) {
                    int[] ids = s.model.tokenizer().encode(row.prompt());
                    int keep = s.context - nPredict - 1;
                    if (ids.length > keep) ids = Arrays.copyOfRange(ids, ids.length - keep, ids.length);
                    if (!warmed) {
                        plain.generate(ids, params, t -> { });
                        specGen.generate(ids, params, t -> { });
                        warmed = true;
                    }
                    GenerationResult a = plain.generate(ids, params, t -> { });
                    GenerationResult b = specGen.generate(ids, params, t -> { });
                    // generation speed, prefill excluded (the plain run's first token comes with its prefill)
                    plainNanos += a.decodeNanos();
                    specNanos += b.decodeNanos();
                    plainTokens += Math.max(0, a.tokens().length - 1);
                    specTokens += b.tokens().length;
                    steps += specGen.lastStats().steps();
                    accepted += specGen.lastStats().accepted();
                    identical &= Arrays.equals(a.tokens(), b.tokens());
                }
                double base = plainTokens * 1e9 / plainNanos;
                double fast = specTokens * 1e9 / specNanos;
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("kind", e.getKey());
                o.put("spec", drafter);
                o.put("requests", rows.size());
                o.put("accepted_per_step", steps == 0 ? 0 : accepted / (double) steps);
                o.put("tokens_per_s", fast);
                o.put("baseline_tokens_per_s", base);
                o.put("speedup", fast / base);
                o.put("identical", identical);
                if (json) {
                    out.println(new ObjectMapper().writeValueAsString(o));
                } else {
                    out.printf(Locale.ROOT, "%-10s %-6s %3d requests: %.2f accepted/step, %.1f tok/s vs %.1f baseline (%.2fx), identical=%s%n",
                            e.getKey(), drafter, rows.size(), (double) o.get("accepted_per_step"), fast, base, fast / base, identical);
                }
                out.flush();
            }
        }
        return 0;
    }
}
