package io.stride.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.diffusion.DiffusionDecoder;
import io.stride.core.diffusion.DiffusionParams;
import io.stride.core.diffusion.DiffusionResult;
import io.stride.core.diffusion.FinalityFilter;
import io.stride.core.diffusion.FinalityRule;
import io.stride.core.diffusion.Remasking;
import io.stride.core.model.Model;
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
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "bench-diffusion", description = "Decode a workload with a diffusion model under several strategies: forward passes per token, "
        + "tok/s, agreement with the one-token-per-step baseline and the log-likelihood an autoregressive judge gives the answers.")
final class BenchDiffusionCommand implements Callable<Integer> {
    static final List<String> DEFAULT_STRATEGIES = List.of("baseline", "k=2", "k=4", "threshold=0.9", "threshold=0.7",
            "threshold=0.5", "cache=4", "prophet=4", "adaptive=0.5", "eot", "threshold=0.9,eot",
            "threshold=0.9,cache=4,eot", "threshold=0.7,cache=4,eot", "oracle", "oracle,cache=4");

    /** Marks the oracle strategy; replaced per prompt by a rule that knows the baseline's answer. */
    private static final FinalityRule ORACLE = (position, token, features) -> false;

    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    @Option(names = {"-m", "--model"}, required = true, description = "Diffusion GGUF model.")
    Path model;
    @Option(names = "--judge", required = true, description = "Autoregressive GGUF model with the same vocabulary that scores the answers.")
    Path judge;
    @Mixin
    DiffusionWorkload rows;
    @Option(names = "--limit", defaultValue = "20", description = "First N rows (default ${DEFAULT-VALUE}).")
    int limit;
    @Option(names = "--diffusion-block-length", defaultValue = "32", description = "Block length (default ${DEFAULT-VALUE}).")
    int blockLength;
    @Option(names = "--strategy", description = "A strategy, repeatable: 'baseline' or comma-separated k=TOKENS_PER_STEP, threshold=P, "
            + "prophet=GAP, cache=R, adaptive=P, eot, filter=P (the --filter file at score P), oracle (unmask every position whose pick is "
            + "the baseline's final token: the bound a perfect filter reaches); NAME#LABEL runs NAME again as another row "
            + "(default: a sweep of each alone and combined).")
    List<String> strategies;
    @Option(names = "--filter", description = "Learn2PD filter file for the filter=P strategies (see 'stride train-filter').")
    Path filter;
    @Option(names = "--json", description = "One JSON object per strategy.")
    boolean json;
    @Mixin
    LoadFlags load;

    @Override
    public Integer call() throws Exception {
        List<String> names = strategies == null || strategies.isEmpty() ? DEFAULT_STRATEGIES : strategies;
        Map<String, DiffusionParams> plans = new LinkedHashMap<>();
        for (String name : names) plans.put(name, strategy(name));
        if (!names.isEmpty() && !names.get(0).equals("baseline")) {
            Map<String, DiffusionParams> withBase = new LinkedHashMap<>();
            withBase.put("baseline", strategy("baseline"));
            withBase.putAll(plans);
            plans = withBase;
        }
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        try (ModelSession s = new ModelSession(model, load.options(), err); Model ar = Model.open(judge)) {
            if (!s.model.isDiffusion()) throw new IllegalArgumentException(model.getFileName() + " is not a diffusion model");
            List<int[]> prompts = rows.prompts(s.model, 0, limit);
            int nPredict = rows.nPredict;
            int capacity = prompts.stream().mapToInt(p -> p.length).max().orElse(0) + nPredict;
            DiffusionDecoder decoder = new DiffusionDecoder(s.model, s.pool, capacity);
            DiffusionJudge scorer = new DiffusionJudge(ar, s.pool, capacity);
            decoder.generate(prompts.get(0), plans.get("baseline"), null); // warm-up
            List<int[]> baseline = null, baseCanvas = new ArrayList<>();
            double baseLl = 0, baseTps = 0;
            long basePasses = 0;
            if (!json) {
                out.printf("%d prompts (last lines within %d tokens), %d answer positions, blocks of %d, greedy; judge %s%n",
                        prompts.size(), rows.promptTokens, nPredict, blockLength, judge.getFileName());
                out.println("| strategy | passes | passes/token | positions/pass | tok/s | speed-up | agreement | judge LL/token | ΔLL |");
                out.println("|---|---|---|---|---|---|---|---|---|");
            }
            for (var e : plans.entrySet()) {
                long passes = 0, nanos = 0, tokens = 0;
                double ll = 0, agree = 0;
                List<int[]> answers = new ArrayList<>();
                for (int i = 0; i < prompts.size(); i++) {
                    DiffusionParams plan = e.getValue();
                    if (plan.filter() == ORACLE) {
                        int[] done = baseCanvas.get(i);
                        plan = plan.withFilter((pos, token, features) -> done[pos] == token);
                    }
                    DiffusionResult r = decoder.generate(prompts.get(i), plan, null);
                    if (baseline == null) baseCanvas.add(r.canvas());
                    answers.add(r.answer());
                    passes += r.forwardPasses();
                    nanos += r.nanos();
                    tokens += r.answer().length;
                    ll += scorer.logLikelihood(prompts.get(i), r.answer());
                    agree += baseline == null ? 1 : agreement(baseline.get(i), r.answer());
                }
                double llPerToken = tokens == 0 ? 0 : ll / tokens, tps = tokens * 1e9 / nanos;
                if (baseline == null) {
                    baseline = answers;
                    baseLl = llPerToken;
                    baseTps = tps;
                    basePasses = passes;
                }
                double dLl = (llPerToken - baseLl) / Math.abs(baseLl);
                if (json) {
                    Map<String, Object> o = new LinkedHashMap<>();
                    o.put("strategy", e.getKey());
                    o.put("prompts", prompts.size());
                    o.put("answer_tokens", tokens);
                    o.put("forward_passes", passes);
                    o.put("passes_per_token", passes / (double) tokens);
                    o.put("pass_reduction", basePasses / (double) passes);
                    o.put("tokens_per_second", tps);
                    o.put("speedup", tps / baseTps);
                    o.put("agreement", agree / prompts.size());
                    o.put("judge_ll_per_token", llPerToken);
                    o.put("judge_ll_change", dLl);
                    out.println(new ObjectMapper().writeValueAsString(o));
                } else {
                    out.printf(Locale.ROOT, "| %s | %d | %.3f (%.2fx fewer) | %.2f | %.1f | %.2fx | %.3f | %.4f | %+.2f %% |%n", e.getKey(), passes,
                            passes / (double) tokens, basePasses / (double) passes, prompts.size() * (double) nPredict / passes, tps,
                            tps / baseTps, agree / prompts.size(), llPerToken, 100 * dLl);
                }
                out.flush();
            }
        }
        return 0;
    }

    /** Position-wise agreement of two answers over the longer one's length (1 when both are empty). */
    static double agreement(int[] a, int[] b) {
        int n = Math.max(a.length, b.length), same = 0;
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            if (a[i] == b[i]) same++;
        }
        return n == 0 ? 1 : same / (double) n;
    }

    private DiffusionParams strategy(String name) {
        String spec = name.contains("#") ? name.substring(0, name.indexOf('#')) : name; // "#label" repeats a strategy as another row
        int nPredict = rows.nPredict;
        int blocks = DiffusionParams.blocks(nPredict, blockLength);
        int k = 1;
        float threshold = 0, prophet = 0, adaptive = 0;
        int cache = 0;
        boolean eot = false;
        double filterThreshold = 0;
        boolean oracle = false;
        if (!spec.equals("baseline")) {
            for (String part : spec.split(",")) {
                String[] kv = part.trim().split("=", 2);
                try {
                    switch (kv[0]) {
                        case "k" -> k = Integer.parseInt(kv[1]);
                        case "threshold" -> threshold = Float.parseFloat(kv[1]);
                        case "prophet" -> prophet = Float.parseFloat(kv[1]);
                        case "cache" -> cache = Integer.parseInt(kv[1]);
                        case "adaptive" -> adaptive = Float.parseFloat(kv[1]);
                        case "eot" -> eot = true;
                        case "oracle" -> oracle = true;
                        case "filter" -> filterThreshold = Double.parseDouble(kv[1]);
                        default -> throw new IllegalArgumentException();
                    }
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException("--strategy '" + spec + "': expected baseline or k=N, threshold=P, prophet=GAP, "
                            + "cache=R, adaptive=P, eot, filter=P, oracle, got '" + part + "'");
                }
            }
        }
        if (k < 1 || blockLength % k != 0) throw new IllegalArgumentException("--strategy k=" + k + " must divide the block length " + blockLength);
        FinalityRule f = oracle ? ORACLE : null;
        if (filterThreshold > 0) {
            if (filter == null) throw new IllegalArgumentException("--strategy '" + spec + "': filter=P needs --filter FILE");
            f = FinalityFilter.load(filter).withThreshold(filterThreshold);
        }
        return new DiffusionParams(nPredict, blocks * blockLength / k, blockLength, 0, Remasking.CONFIDENCE, 0, 0, 1, 0,
                threshold, prophet, cache, adaptive, eot, f);
    }
}
