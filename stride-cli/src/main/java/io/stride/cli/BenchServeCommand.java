package io.stride.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;
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

@Command(name = "bench-serve", description = "Load-test an OpenAI-compatible server: TTFT, TPOT, inter-token latency, throughput and goodput under SLOs.")
final class BenchServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    @Option(names = "--url", defaultValue = "http://127.0.0.1:8080", description = "Server base URL (default ${DEFAULT-VALUE}).")
    String url;
    @Option(names = "--model", description = "Model name to send.")
    String model;
    @Option(names = "--api-key", description = "Bearer token.")
    String apiKey;
    @Option(names = {"--workload", "--prompts"}, required = true, description = "Prompt set (java-dev.jsonl format).")
    Path workload;
    @Option(names = "--kind", description = "Only rows of this kind.")
    String kind;
    @Option(names = "--requests", defaultValue = "32", description = "Requests to send (default ${DEFAULT-VALUE}).")
    int requests;
    @Option(names = "--concurrency", defaultValue = "1", description = "Requests in flight (ignored with --rate) (default ${DEFAULT-VALUE}).")
    int concurrency;
    @Option(names = "--rate", defaultValue = "0", description = "Poisson arrival rate in requests/s (0: use --concurrency).")
    double rate;
    @Option(names = "--max-tokens", defaultValue = "128", description = "max_tokens per request, 0 = the row's (default ${DEFAULT-VALUE}).")
    int maxTokens;
    @Option(names = "--slo-ttft", defaultValue = "2.0", description = "TTFT objective in seconds for goodput (default ${DEFAULT-VALUE}).")
    double sloTtft;
    @Option(names = "--slo-tpot", defaultValue = "0.2", description = "TPOT objective in seconds for goodput (default ${DEFAULT-VALUE}).")
    double sloTpot;
    @Option(names = "--seed", defaultValue = "1", description = "Seed of the arrival process (default ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--json", description = "Print one JSON object with per-request samples and aggregates.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (requests < 1) throw new IllegalArgumentException("--requests must be >= 1");
        if (concurrency < 1 || concurrency > 10_000) throw new IllegalArgumentException("--concurrency must be between 1 and 10000");
        if (rate < 0 || Double.isNaN(rate)) throw new IllegalArgumentException("--rate must be >= 0");
        if (!(sloTtft > 0) || !(sloTpot > 0)) throw new IllegalArgumentException("SLOs must be positive");
        List<WorkloadFile.Row> rows = WorkloadFile.read(workload).rows();
        if (kind != null) {
            rows = rows.stream().filter(r -> r.kind().equals(kind)).toList();
            if (rows.isEmpty()) throw new IllegalArgumentException("no rows of kind '" + kind + "'");
        }
        ServeLoadGenerator gen = new ServeLoadGenerator(url, model, apiKey, maxTokens);
        long t0 = System.nanoTime();
        List<ServeLoadGenerator.Sample> samples = gen.run(rows, requests, concurrency, rate, seed);
        double wall = (System.nanoTime() - t0) / 1e9;
        List<ServeLoadGenerator.Sample> ok = samples.stream().filter(ServeLoadGenerator.Sample::ok).toList();
        double[] ttft = ok.stream().mapToDouble(ServeLoadGenerator.Sample::ttft).toArray();
        double[] tpot = ok.stream().filter(s -> s.outputTokens() > 1).mapToDouble(ServeLoadGenerator.Sample::tpot).toArray();
        double[] itl = ok.stream().flatMap(s -> s.itl().stream()).mapToDouble(Double::doubleValue).toArray();
        long outTokens = ok.stream().mapToLong(ServeLoadGenerator.Sample::outputTokens).sum();
        long good = ok.stream().filter(s -> s.ttft() <= sloTtft && s.tpot() <= sloTpot).count();
        Map<String, Object> agg = new LinkedHashMap<>();
        agg.put("url", url);
        agg.put("mode", rate > 0 ? "rate" : "concurrency");
        agg.put("rate", rate);
        agg.put("concurrency", rate > 0 ? null : concurrency);
        agg.put("requests", samples.size());
        agg.put("failed", samples.size() - ok.size());
        agg.put("duration_s", wall);
        agg.put("request_throughput", ok.size() / wall);
        agg.put("output_tokens", outTokens);
        agg.put("output_throughput", outTokens / wall);
        agg.put("ttft", stats(ttft));
        agg.put("tpot", stats(tpot));
        agg.put("itl", stats(itl));
        agg.put("slo_ttft_s", sloTtft);
        agg.put("slo_tpot_s", sloTpot);
        agg.put("goodput_fraction", samples.isEmpty() ? 0 : good / (double) samples.size());
        agg.put("goodput_rps", good / wall);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            List<Object> per = new ArrayList<>();
            for (ServeLoadGenerator.Sample s : samples) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("id", s.id());
                m.put("ok", s.ok());
                if (!s.ok()) m.put("error", s.error());
                m.put("ttft", s.ttft());
                m.put("tpot", s.tpot());
                m.put("e2e", s.e2e());
                m.put("output_tokens", s.outputTokens());
                per.add(m);
            }
            agg.put("samples", per);
            out.println(new ObjectMapper().writeValueAsString(agg));
        } else {
            out.printf(Locale.ROOT, "requests %d (failed %d) in %.1f s: %.2f req/s, %.1f output tok/s%n", samples.size(), samples.size() - ok.size(),
                    wall, ok.size() / wall, outTokens / wall);
            out.println(line("TTFT (s)", stats(ttft)));
            out.println(line("TPOT (s)", stats(tpot)));
            out.println(line("ITL (s)", stats(itl)));
            out.printf(Locale.ROOT, "goodput: %.1f%% of requests meet TTFT <= %.3f s and TPOT <= %.3f s (%.2f req/s)%n",
                    100.0 * good / Math.max(1, samples.size()), sloTtft, sloTpot, good / wall);
            for (ServeLoadGenerator.Sample s : samples) {
                if (!s.ok()) out.println("failed " + s.id() + ": " + s.error());
            }
        }
        out.flush();
        return samples.size() == ok.size() ? 0 : 1;
    }

    private static String line(String name, Map<String, Double> s) {
        return String.format(Locale.ROOT, "%-9s mean %.4f  p50 %.4f  p90 %.4f  p99 %.4f  max %.4f", name, s.get("mean"), s.get("p50"), s.get("p90"),
                s.get("p99"), s.get("max"));
    }

    /** Mean, p50, p90, p99 and max of the samples (commons-math's estimator: exact over this few samples). */
    static Map<String, Double> stats(double[] v) {
        Map<String, Double> m = new LinkedHashMap<>();
        if (v.length == 0) {
            for (String k : new String[]{"mean", "p50", "p90", "p99", "max"}) m.put(k, 0.0);
            return m;
        }
        DescriptiveStatistics d = new DescriptiveStatistics(v);
        m.put("mean", d.getMean());
        m.put("p50", d.getPercentile(50));
        m.put("p90", d.getPercentile(90));
        m.put("p99", d.getPercentile(99));
        m.put("max", d.getMax());
        return m;
    }
}
