package io.stride.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.engine.EngineBuilder;
import io.stride.core.engine.GenerationParams;
import io.stride.core.engine.GenerationResult;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.engine.SpeculationConfig;
import io.stride.core.kv.KvSequence;
import io.stride.core.model.Batch;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.spec.DraftMethod;
import io.stride.core.spec.DraftMethods;
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
    @Mixin
    LoadFlags load;
    @Mixin
    KvFlags kv;
    @Mixin
    SparseFlags sparse;
    @Option(names = "--verify-cost", description = "Instead of a workload: time one verify step of 1 + k tokens for k = 1, 2, 4, 8, 16 relative to plain decoding.")
    boolean verifyCost;
    @Option(names = "--json", description = "One JSON object per kind and drafter.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (nPredict < 1) throw new IllegalArgumentException("-n must be >= 1");
        if (limit != null && limit < 1) throw new IllegalArgumentException("--limit must be >= 1");
        PrintWriter out = spec.commandLine().getOut();
        kv.config(); // the cache types, checked before the model loads
        kv.refuseKeyShare("bench-spec");
        sparse.mode();
        if (verifyCost) {
            if (sparse.mode() != null) {
                throw new IllegalArgumentException("--verify-cost measures dense verification; drop --sparse-attention");
            }
            try (ModelSession s = new ModelSession(model, load.options(), spec.commandLine().getErr())) {
                verifyCostTable(s, s.forward(0, EngineBuilder.DEFAULT_CONTEXT_CAP, kv.config()), out);
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
        try (ModelSession s = new ModelSession(model, load.options(), spec.commandLine().getErr())) {
            GenerationParams params = GenerationParams.greedy(nPredict);
            Drafters d = new Drafters(s);
            try {
                // warm the JIT with one row through every drafter; then fresh drafters, so that what they learned from
                // the warm-up (its very output) does not flatter the runs
                int[] first = prompt(s, byKind.values().iterator().next().getFirst(), d.context());
                try (InferenceEngine warm = d.engine()) {
                    warm.generate(first, params, "none", t -> { });
                    for (String name : d.names()) warm.generate(first, params, name, t -> { });
                }
                d.reopen();
                try (InferenceEngine engine = d.engine()) {
                    for (Map.Entry<String, List<WorkloadFile.Row>> e : byKind.entrySet()) {
                        List<WorkloadFile.Row> rows = limit == null ? e.getValue() : e.getValue().subList(0, Math.min(limit, e.getValue().size()));
                        report(out, e.getKey(), rows.size(), run(s, engine, d, rows, params));
                    }
                }
            } finally {
                d.close();
            }
        }
        return 0;
    }

    /** The drafters of this run, loaded into one engine (a request picks its drafter, or "none", by name). */
    private final class Drafters implements AutoCloseable {
        final ModelSession s;
        final Map<String, DraftMethod> methods = new LinkedHashMap<>();

        Drafters(ModelSession s) {
            this.s = s;
            reopen();
        }

        int context() {
            return builder().context();
        }

        EngineBuilder builder() {
            return EngineBuilder.of(s.model, s.pool).kvCache(kv.config()).maxSequences(1).maxQueue(1).maxBatchTokens(512).prefixCaching(false)
                    .sparseAttention(sparse.mode());
        }

        List<String> names() {
            return List.copyOf(methods.keySet());
        }

        void reopen() {
            close();
            for (String name : drafters) {
                DraftMethod m = DraftMethods.create(name.trim(), s.model, s.pool, context(), 1);
                methods.put(m.name(), m);
            }
        }

        InferenceEngine engine() {
            return builder().speculation(new SpeculationConfig(methods, null, specMax, !specFixed)).build();
        }

        @Override
        public void close() {
            methods.values().forEach(DraftMethod::close);
            methods.clear();
        }
    }

    private int[] prompt(ModelSession s, WorkloadFile.Row row, int context) {
        int[] ids = s.model.tokenizer().encode(row.prompt());
        int keep = context - nPredict - specMax - 2;
        return ids.length > keep ? Arrays.copyOfRange(ids, ids.length - keep, ids.length) : ids;
    }

    /** Totals of one kind: plain decoding, and per drafter. */
    private record Totals(long plainNanos, long plainTokens, long[] nanos, long[] tokens, long[] steps, long[] accepted, boolean[] identical) {}

    private Totals run(ModelSession s, InferenceEngine engine, Drafters d, List<WorkloadFile.Row> rows, GenerationParams params)
            throws InterruptedException {
        int nd = d.names().size();
        long plainNanos = 0, plainTokens = 0;
        long[] nanos = new long[nd], tokens = new long[nd], steps = new long[nd], accepted = new long[nd];
        boolean[] identical = new boolean[nd];
        Arrays.fill(identical, true);
        for (WorkloadFile.Row row : rows) {
            int[] ids = prompt(s, row, d.context());
            GenerationResult a = engine.generate(ids, params, "none", t -> { });
            // generation speed, prefill excluded: every run's first token comes with its prefill
            plainNanos += a.decodeNanos();
            plainTokens += Math.max(0, a.tokens().length - 1);
            for (int i = 0; i < nd; i++) {
                GenerationResult b = engine.generate(ids, params, d.names().get(i), t -> { });
                nanos[i] += b.decodeNanos();
                tokens[i] += Math.max(0, b.tokens().length - 1);
                steps[i] += b.speculation().steps();
                accepted[i] += b.speculation().accepted();
                identical[i] &= Arrays.equals(a.tokens(), b.tokens());
            }
        }
        return new Totals(plainNanos, plainTokens, nanos, tokens, steps, accepted, identical);
    }

    private void report(PrintWriter out, String kind, int requests, Totals t) throws Exception {
        double base = t.plainTokens() * 1e9 / t.plainNanos();
        for (int d = 0; d < drafters.size(); d++) {
            double fast = t.tokens()[d] * 1e9 / t.nanos()[d];
            long steps = t.steps()[d], accepted = t.accepted()[d];
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("kind", kind);
            o.put("spec", drafters.get(d).trim());
            o.put("requests", requests);
            o.put("accepted_per_step", steps == 0 ? 0 : accepted / (double) steps);
            // what Medusa / EAGLE call the acceptance length: accepted drafted tokens plus the target's own token
            o.put("tokens_per_step", steps == 0 ? 0 : (accepted + steps) / (double) steps);
            o.put("tokens_per_s", fast);
            o.put("baseline_tokens_per_s", base);
            o.put("speedup", fast / base);
            o.put("identical", t.identical()[d]);
            if (json) {
                out.println(new ObjectMapper().writeValueAsString(o));
            } else {
                out.printf(Locale.ROOT, "%-10s %-14s %3d requests: %.2f accepted/step (%.2f tokens/step), %.1f tok/s vs %.1f baseline (%.2fx), identical=%s%n",
                        kind, o.get("spec"), requests, (double) o.get("accepted_per_step"), (double) o.get("tokens_per_step"),
                        fast, base, fast / base, t.identical()[d]);
            }
        }
        out.flush();
    }

    /** Median time of a forward pass over 1 + k tokens at position ~256, relative to k = 0, interleaved. */
    private void verifyCostTable(ModelSession s, ModelSession.Forward f, PrintWriter out) throws Exception {
        int[] ks = {0, 1, 2, 4, 8, 16};
        int base = 256;
        float[] logits = new float[17 * s.model.config().vocab()];
        Batch batch = new Batch();
        KvSequence seq = f.cache().newSequence();
        if (!f.cache().reserve(seq, base + 17)) throw new IllegalStateException("context too small");
        // fill the context once
        for (int start = 0; start < base; start += 64) {
            batch.clear();
            for (int i = start; i < start + 64; i++) batch.add(i % s.model.config().vocab(), i, seq, false);
            f.transformer().forward(batch, f.cache(), logits);
        }
        int reps = 40;
        long[][] t = new long[ks.length][reps + 3];
        for (int r = 0; r < reps + 3; r++) {
            for (int j = 0; j < ks.length; j++) {
                batch.clear();
                for (int i = 0; i <= ks[j]; i++) batch.add((7 * i + 3) % s.model.config().vocab(), base + i, seq, true);
                long t0 = System.nanoTime();
                f.transformer().forward(batch, f.cache(), logits);
                t[j][r] = System.nanoTime() - t0;
            }
        }
        if (common.verbose) {
            for (int k : ks) {
                io.stride.core.model.ForwardProfile prof = new io.stride.core.model.ForwardProfile();
                f.transformer().profile(prof);
                for (int r = 0; r < 10; r++) {
                    batch.clear();
                    for (int i = 0; i <= k; i++) batch.add((7 * i + 3) % s.model.config().vocab(), base + i, seq, true);
                    f.transformer().forward(batch, f.cache(), logits);
                }
                f.transformer().profile(null);
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
        f.cache().release(seq);
    }

    private static double median(long[] a, int skip) {
        long[] b = Arrays.copyOfRange(a, skip, a.length);
        Arrays.sort(b);
        return b.length % 2 == 1 ? b[b.length / 2] : (b[b.length / 2 - 1] + b[b.length / 2]) / 2.0;
    }
}
