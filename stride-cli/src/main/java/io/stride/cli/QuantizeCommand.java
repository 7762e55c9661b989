package io.stride.cli;

import io.stride.core.parallel.WorkerPool;
import io.stride.core.tools.ModelQuantizer;
import io.stride.core.tools.QuantTarget;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "quantize", description = "Convert a GGUF model's weights to Q8_0, Q4_0, Q4_K_M, Q5_K_M or Q6_K with llama.cpp's mixtures; "
        + "the blocks are bit-identical to llama-quantize's.")
final class QuantizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    @Parameters(index = "0", paramLabel = "IN", description = "Input GGUF model.")
    Path in;
    @Parameters(index = "1", paramLabel = "OUT", description = "Output GGUF file.")
    Path out;
    @Parameters(index = "2", paramLabel = "TYPE", description = "Q8_0, Q4_0, Q4_K (= Q4_K_M), Q5_K (= Q5_K_M), Q6_K, F16 or F32.")
    String type;
    @Option(names = {"-t", "--threads"}, description = "Worker threads (default: all cores).")
    Integer threads;
    @Option(names = "--list-tensors", description = "Print each converted tensor with its old and new type.")
    boolean verboseTensors;

    @Override
    public Integer call() throws Exception {
        QuantTarget target = QuantTarget.parse(type);
        PrintWriter err = spec.commandLine().getErr();
        long t0 = System.nanoTime();
        try (WorkerPool pool = new WorkerPool(threads != null ? threads : WorkerPool.defaultThreads());
             ProgressBar bar = ProgressBar.onStderr(err, "stride: quantizing " + in.getFileName())) {
            ModelQuantizer.quantize(in, out, target, pool, new ModelQuantizer.Listener() {
                @Override
                public void tensor(String name, io.stride.core.gguf.GgmlType from, io.stride.core.gguf.GgmlType to) {
                    if (verboseTensors && from != to) err.printf("%-40s %s -> %s%n", name, from, to);
                }

                @Override
                public void progress(long done, long total) {
                    bar.update(done, total);
                }
            });
        }
        err.printf("wrote %s in %.1f s%n", out, (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
