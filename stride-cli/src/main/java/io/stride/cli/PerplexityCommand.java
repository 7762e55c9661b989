package io.stride.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.engine.PerplexityEvaluator;
import io.stride.core.parallel.WorkerPool;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "perplexity", description = "Perplexity of a text file over consecutive non-overlapping windows; "
        + "the last stdout line is JSON: {\"tokens\",\"windows\",\"nll\",\"ppl\"}.")
final class PerplexityCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    @Option(names = {"-m", "--model"}, required = true, description = "GGUF model file.")
    Path model;
    @Option(names = {"-f", "--file"}, required = true, description = "Text file to score.")
    Path file;
    @Option(names = {"-c", "--ctx"}, defaultValue = "0", description = "Window size in tokens (default: the model's context).")
    int ctx;
    @Mixin
    LoadFlags load;
    @Mixin
    KvFlags kv;
    @Mixin
    SparseFlags sparse;
    @Option(names = "--score-from", defaultValue = "0", paramLabel = "POS|half", description = "Score predictions from this "
            + "position of each window on: a number, or half (as llama-perplexity scores; default 0, every prediction).")
    String scoreFrom;
    @Option(names = {"-b", "--batch"}, defaultValue = "256", description = "Tokens per forward pass (default ${DEFAULT-VALUE}).")
    int batch;

    @Override
    public Integer call() throws Exception {
        if (batch < 1) {
            throw new IllegalArgumentException("--batch must be >= 1");
        }
        if (ctx == 1 || ctx < 0) {
            throw new IllegalArgumentException("--ctx must be at least 2, got " + ctx);
        }
        io.stride.core.kv.KvCacheConfig cache = kv.config();
        kv.refuseKeyShare("perplexity");
        var mode = sparse.mode();
        String text = Files.readString(file);
        try (ModelSession s = new ModelSession(model, load.options(), spec.commandLine().getErr())) {
            return run(s, s.forward(ctx, Integer.MAX_VALUE, cache), text, mode == null ? null : mode.forLayers(s.model.config().layers(), s.model.config().kvDimK()));
        }
    }

    private int run(ModelSession s, ModelSession.Forward f, String text, io.stride.core.sparse.SparseAttention mode) throws Exception {
        int window = f.context();
        int[] ids = s.model.tokenizer().encode(text);
        if (ids.length < 2) {
            throw new IllegalArgumentException(file + ": needs at least 2 tokens of text to score, found " + ids.length);
        }
        long t0 = System.nanoTime();
        PerplexityEvaluator.Result r;
        try (ProgressBar bar = ProgressBar.onStderr(spec.commandLine().getErr(), "stride: scoring " + ids.length + " tokens")) {
            int from = scoreFrom.equals("half") ? window / 2 : parseFrom(scoreFrom);
            r = new PerplexityEvaluator(f.transformer(), f.cache(), Math.min(batch, window), mode).evaluate(ids, window, from, bar);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        spec.commandLine().getErr().printf("scored %d predictions in %d windows of %d in %.1f s (%.1f tok/s)%n",
                r.scored(), r.windows(), window, secs, ids.length / secs);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("tokens", r.tokens());
        json.put("windows", r.windows());
        json.put("scored", r.scored());
        json.put("nll", r.meanNll());
        json.put("ppl", r.perplexity());
        spec.commandLine().getOut().println(new ObjectMapper().writeValueAsString(json));
        spec.commandLine().getOut().flush();
        return 0;
    }

    private static int parseFrom(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--score-from must be a position or 'half', got '" + s + "'");
        }
    }
}
