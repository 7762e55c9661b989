package io.stride.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.engine.GenerationParams;
import io.stride.core.engine.GenerationResult;
import io.stride.core.engine.Generator;
import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.spec.DraftMethod;
import io.stride.core.spec.DraftMethods;
import io.stride.core.spec.SpeculativeGenerator;
import io.stride.core.tensor.WorkerPool;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

@Command(name = "bench-spec", description = "Run a workload with and without speculative decoding (greedy) and compare speed and outputs, per workload kind and drafter.")
final class BenchSpecCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    @Option(names = {"-m", "--model"}, required = true, description = "GGUF model file.")
    Path model;
    @Option(names = "--workload", description = "Prompt set (java-dev.jsonl format).")
    Path workload;
    @Option(names = "--spec", defaultValue = "suffix", split = ",",
            description = "Drafters, comma-separated: " + DraftMethods.HELP + " (default ${DEFAULT-VALUE}).")
    List<String> drafters;
    @Option(names = "--spec-max", defaultValue = "16", description = "Most drafted tokens per step (default ${DEFAULT-VALUE}).")
    int specMax;
    @Option(names = "--spec-fixed", description = "Always draft --spec-max tokens (no adaptive draft length).")
    boolean specFixed;
    @Option(names = {"-n", "--n-predict"}, defaultValue = "128", description = "Tokens per request (default ${DEFAULT-VALUE}).")
    int nPredict;
    @Option(names = "--limit", description = "Only the first N rows of each kind.")
    Integer limit;
    @Option(names = "--kind", description = "Only rows of this kind.")
    String onlyKind;
    @Option(names = {"-t", "--threads"}, description = "Worker threads (default: all cores).")
    Integer threads;
    @Option(names = "--verify-cost", description = "Instead of a workload: time one verify step of 1 + k tokens for k = 1, 2, 4, 8, 16 relative to plain decoding.")
    boolean verifyCost;
    @Option(names = "--json", description = "One JSON object per kind and drafter.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (nPredict < 1) throw new IllegalArgumentException("-n must be >= 1");
        if (limit != null && limit < 1) throw new IllegalArgumentException("--limit must be >= 1");
        PrintWriter out = spec.commandLine().getOut();
        if (verifyCost) {
            try (ModelSession s = new ModelSession(model, threads != null ? threads : WorkerPool.defaultThreads(), 0)) {
                verifyCostTable(s, out);
            }
            return 0;
        }
        if (workload == null) throw new IllegalArgumentException("--workload is required (or --verify-cost)");
        Map<String, List<WorkloadFile.Row>> byKind = new TreeMap<>();
        for (WorkloadFile.Row r : WorkloadFile.read(workload).rows()) {
            if (onlyKind == null || onlyKind.equals(r.kind())) {
                byKind.computeIfAbsent(r.kind(), k -> new ArrayList<>()).add(r);
            }
        }
        if (byKind.isEmpty()) throw new IllegalArgumentException("no workload rows" + (onlyKind == null ? "" : " of kind " + onlyKind));
        try (ModelSession s = new ModelSession(model, threads != null ? threads : WorkerPool.defaultThreads(), 0)) {
            Generator plain = new Generator(s.model, s.transformer, s.cache, s.context);
            PagedKvCache specCache = s.transformer.newCache(ModelSession.BLOCK_SIZE,
                    (s.context + specMax + 1 + ModelSession.BLOCK_SIZE - 1) / ModelSession.BLOCK_SIZE);
            List<DraftMethod> methods = new ArrayList<>();
            List<SpeculativeGenerator> gens = new ArrayList<>();
            try {
                for (String d : drafters) {
                    DraftMethod m = DraftMethods.create(d.trim(), s.model, s.pool, s.context, 1);
                    methods.add(m);
                    gens.add(new SpeculativeGenerator(s.model, s.transformer, specCache, s.context, m, specMax, !specFixed));
                }
                GenerationParams params = GenerationParams.greedy(nPredict);
                boolean warmed = false;
                for (Map.Entry<String, List<WorkloadFile.Row>> e : byKind.entrySet()) {
                    List<WorkloadFile.Row> rows = limit == null ? e.getValue() : e.getValue().subList(0, Math.min(limit, e.getValue().size()));
                    int nd = methods.size();
                    long plainNanos = 0, plainTokens = 0;
                    long[] specNanos = new long[nd], specTokens = new long[nd], steps = new long[nd], accepted = new long[nd];
                    boolean[] identical = new boolean[nd];
                    Arrays.fill(identical, true);
                    for (WorkloadFile.Row row : rows) {
                        int[] ids = s.model.tokenizer().encode(row.prompt());
                        int keep = s.context - nPredict - specMax - 2;
                        if (ids.length > keep) ids = Arrays.copyOfRange(ids, ids.length - keep, ids.length);
                        if (!warmed) {
                            plain.generate(ids, params, t -> { });
                            for (SpeculativeGenerator g : gens) g.generate(ids, params, t -> { });
                            // fresh drafters: what they learned from the warm-up (its very output) must not flatter the runs
                            for (int d = 0; d < methods.size(); d++) {
                                methods.get(d).close();
                                methods.set(d, DraftMethods.create(drafters.get(d).trim(), s.model, s.pool, s.context, 1));
                                gens.set(d, new SpeculativeGenerator(s.model, s.transformer, specCache, s.context, methods.get(d), specMax, !specFixed));
                            }
                            warmed = true;
                        }
                        GenerationResult a = plain.generate(ids, params, t -> { });
                        // generation speed, prefill excluded (the plain run's first token comes with its prefill)
                        plainNanos += a.decodeNanos();
                        plainTokens += Math.max(0, a.tokens().length - 1);
                        for (int d = 0; d < nd; d++) {
                            GenerationResult b = gens.get(d).generate(ids, params, t -> { });
                            specNanos[d] += b.decodeNanos();
                            specTokens[d] += b.tokens().length;
                            steps[d] += gens.get(d).lastStats().steps();
                            accepted[d] += gens.get(d).lastStats().accepted();
                            identical[d] &= Arrays.equals(a.tokens(), b.tokens());
                        }
                    }
                    double base = plainTokens * 1e9 / plainNanos;
                    for (int d = 0; d < nd; d++) {
                        double fast = specTokens[d] * 1e9 / specNanos[d];
                        Map<String, Object> o = new LinkedHashMap<>();
                        o.put("kind", e.getKey());
                        o.put("spec", drafters.get(d).trim());
                        o.put("requests", rows.size());
                        o.put("accepted_per_step", steps[d] == 0 ? 0 : accepted[d] / (double) steps[d]);
                        // what Medusa / EAGLE call the acceptance length: accepted drafted tokens plus the target's own token
                        o.put("tokens_per_step", steps[d] == 0 ? 0 : (accepted[d] + steps[d]) / (double) steps[d]);
                        o.put("tokens_per_s", fast);
                        o.put("baseline_tokens_per_s", base);
                        o.put("speedup", fast / base);
                        o.put("identical", identical[d]);
                        if (json) {
                            out.println(new ObjectMapper().writeValueAsString(o));
                        } else {
                            out.printf(Locale.ROOT, "%-10s %-14s %3d requests: %.2f accepted/step (%.2f tokens/step), %.1f tok/s vs %.1f baseline (%.2fx), identical=%s%n",
                                    e.getKey(), o.get("spec"), rows.size(), (double) o.get("accepted_per_step"), (double) o.get("tokens_per_step"),
                                    fast, base, fast / base, identical[d]);
                        }
                        out.flush();
                    }
                }
            } finally {
                for (DraftMethod m : methods) m.close();
            }
        }
        return 0;
    }

    /** Median time of a forward pass over 1 + k tokens at position ~256, relative to k = 0, interleaved. */
    private void verifyCostTable(ModelSession s, PrintWriter out) throws Exception {
        int[] ks = {0, 1, 2, 4, 8, 16};
        int base = 256;
        float[] logits = new float[17 * s.model.config().vocab()];
        Batch batch = new Batch();
        KvSequence seq = s.cache.newSequence();
        if (!s.cache.reserve(seq, base + 17)) throw new IllegalStateException("context too small");
        // fill the context once
        for (int start = 0; start < base; start += 64) {
            batch.clear();
            for (int i = start; i < start + 64; i++) batch.add(i % s.model.config().vocab(), i, seq, false);
            s.transformer.forward(batch, s.cache, logits);
        }
        int reps = 40;
        long[][] t = new long[ks.length][reps + 3];
        for (int r = 0; r < reps + 3; r++) {
            for (int j = 0; j < ks.length; j++) {
                batch.clear();
                for (int i = 0; i <= ks[j]; i++) batch.add((7 * i + 3) % s.model.config().vocab(), base + i, seq, true);
                long t0 = System.nanoTime();
                s.transformer.forward(batch, s.cache, logits);
                t[j][r] = System.nanoTime() - t0;
            }
        }
        if (common.verbose) {
            for (int k : ks) {
                io.stride.core.model.ForwardProfile prof = new io.stride.core.model.ForwardProfile();
                s.transformer.profile(prof);
                for (int r = 0; r < 10; r++) {
                    batch.clear();
                    for (int i = 0; i <= k; i++) batch.add((7 * i + 3) % s.model.config().vocab(), base + i, seq, true);
                    s.transformer.forward(batch, s.cache, logits);
                }
                s.transformer.profile(null);
                StringBuilder sb = new StringBuilder();
                prof.shares().forEach((part, share) -> sb.append(String.format(Locale.ROOT, " %s=%.0f%%", part, 100 * share)));
                out.printf(Locale.ROOT, "profile 1+%d: %.2f ms/step%s%n", k, prof.total() / 10 / 1e6, sb);
            }
        }
        double one = median(t[0], 3);
        for (int j = 0; j < ks.length; j++) {
            double m = median(t[j], 3);
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("k", ks[j]);
            o.put("tokens", ks[j] + 1);
            o.put("ms", m / 1e6);
            o.put("relative", m / one);
            if (json) {
                out.println(new ObjectMapper().writeValueAsString(o));
            } else {
                out.printf(Locale.ROOT, "verify 1+%-2d tokens: %8.2f ms  %.2fx plain decode%n", ks[j], m / 1e6, m / one);
            }
        }
        out.flush();
        s.cache.release(seq);
    }

    private static double median(long[] a, int skip) {
        long[] b = Arrays.copyOfRange(a, skip, a.length);
        Arrays.sort(b);
        return b.length % 2 == 1 ? b[b.length / 2] : (b[b.length / 2 - 1] + b[b.length / 2]) / 2.0;
    }
}
