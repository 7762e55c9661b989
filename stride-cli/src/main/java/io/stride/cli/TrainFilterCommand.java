package io.stride.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stride.core.diffusion.DiffusionDecoder;
import io.stride.core.diffusion.DiffusionParams;
import io.stride.core.diffusion.DiffusionResult;
import io.stride.core.diffusion.FilterTrainer;
import io.stride.core.diffusion.FinalityFilter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "train-filter", description = "Train Learn2PD's finality filter for a diffusion model from its own one-token-per-step "
        + "decoding of a workload (greedy); writes the filter as JSON for --diffusion-filter.")
final class TrainFilterCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    @Option(names = {"-m", "--model"}, required = true, description = "Diffusion GGUF model.")
    Path model;
    @Mixin
    DiffusionWorkload rows;
    @Option(names = "--skip", defaultValue = "20", description = "Skip the first N rows (held out for bench-diffusion; default ${DEFAULT-VALUE}).")
    int skip;
    @Option(names = "--limit", defaultValue = "20", description = "Train on N rows (default ${DEFAULT-VALUE}).")
    int limit;
    @Option(names = "--threshold", defaultValue = "0.9", description = "Score at which the filter unmasks a position (default ${DEFAULT-VALUE}).")
    double threshold;
    @Option(names = {"-o", "--output"}, required = true, description = "Filter file to write.")
    Path output;
    @Mixin
    LoadFlags load;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        long t0 = System.nanoTime();
        try (ModelSession s = new ModelSession(model, load.options(), err)) {
            if (!s.model.isDiffusion()) throw new IllegalArgumentException(model.getFileName() + " is not a diffusion model");
            List<int[]> prompts = rows.prompts(s.model, skip, limit);
            int nPredict = rows.nPredict;
            int capacity = prompts.stream().mapToInt(p -> p.length).max().orElse(0) + nPredict;
            DiffusionDecoder decoder = new DiffusionDecoder(s.model, s.pool, capacity);
            FilterTrainer trainer = new FilterTrainer();
            DiffusionParams base = DiffusionParams.baseline(nPredict);
            for (int[] p : prompts) {
                DiffusionResult r = decoder.generate(p, base, null, trainer);
                trainer.finish(r.canvas());
            }
            long decodeNanos = System.nanoTime() - t0;
            FinalityFilter f = trainer.fit(threshold, 1e-3);
            ObjectNode provenance = new ObjectMapper().createObjectNode();
            provenance.put("model", model.getFileName().toString());
            provenance.put("workload", rows.workload.getFileName().toString());
            provenance.put("kind", rows.kind);
            provenance.put("rows_skipped", skip);
            provenance.put("rows", prompts.size());
            provenance.put("answer_positions", nPredict);
            provenance.put("samples", trainer.samples());
            provenance.put("final_rate", trainer.positiveRate());
            f.save(output, provenance);
            out.printf("trained on %d positions-at-steps from %d prompts (%.1f %% already final); decoding %.1f s, fit %.2f s; wrote %s%n",
                    trainer.samples(), prompts.size(), 100 * trainer.positiveRate(), decodeNanos / 1e9,
                    (System.nanoTime() - t0 - decodeNanos) / 1e9, output);
        }
        return 0;
    }
}
