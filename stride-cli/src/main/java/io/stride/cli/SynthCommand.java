package io.stride.cli;

import io.stride.core.parallel.WorkerPool;
import io.stride.core.tools.ChatTemplates;
import io.stride.core.tools.QuantTarget;
import io.stride.core.tools.SynthPreset;
import io.stride.core.tools.SyntheticModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "synth", description = "Write a GGUF model with real shapes and random weights (for benchmarks).")
final class SynthCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    @Option(names = "--preset", required = true, description = "tinyllama-1.1b, llama-3.2-1b, qwen2.5-0.5b or test-tiny.")
    String preset;
    @Option(names = "--type", defaultValue = "Q8_0", description = "F32, F16, Q8_0, Q4_0, Q4_K (= Q4_K_M), Q5_K (= Q5_K_M) or Q6_K: llama.cpp's mixtures (default ${DEFAULT-VALUE}).")
    String type;
    @Option(names = {"-o", "--output"}, required = true, description = "Output GGUF file.")
    Path output;
    @Option(names = "--seed", defaultValue = "1", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = {"-t", "--threads"}, description = "Worker threads (default: all cores).")
    Integer threads;
    @Option(names = "--chat-template", description = "Chat template to embed: a Jinja file, a bundled one (llama-3.2, qwen-2.5, "
            + "mistral-nemo, hermes-3) or none. Default: the preset's real one (llama-3.2-1b, qwen2.5-0.5b), else none.")
    String chatTemplate;

    @Override
    public Integer call() throws Exception {
        SynthPreset p = SynthPreset.byName(preset);
        QuantTarget target = QuantTarget.parse(type);
        long t0 = System.nanoTime();
        try (WorkerPool pool = new WorkerPool(threads != null ? threads : WorkerPool.defaultThreads())) {
            try (ProgressBar bar = ProgressBar.onStderr(spec.commandLine().getErr(), "stride: writing " + output.getFileName())) {
                SyntheticModel.write(p, target, output, seed, pool, bar, template(p));
            }
        }
        spec.commandLine().getErr().printf("wrote %s (%s, %s) in %.1f s%n", output, p.name(), target, (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    private String template(SynthPreset p) throws java.io.IOException {
        if (chatTemplate == null) return ChatTemplates.forPreset(p);
        if (chatTemplate.equals("none")) return null;
        if (ChatTemplates.file(chatTemplate) != null) return ChatTemplates.get(chatTemplate);
        Path f = Path.of(chatTemplate);
        if (!java.nio.file.Files.isRegularFile(f)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--chat-template: '" + chatTemplate
                    + "' is neither a file nor a bundled template (llama-3.2, qwen-2.5, mistral-nemo, hermes-3, none)");
        }
        return java.nio.file.Files.readString(f);
    }
}
