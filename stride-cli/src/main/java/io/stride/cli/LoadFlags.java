package io.stride.cli;

import io.stride.core.model.LoadOptions;
import io.stride.core.parallel.WorkerPool;
import picocli.CommandLine.Option;

/** How a command loads its model: the flags every model-running command shares, turned into one {@link LoadOptions}. */
final class LoadFlags {
    @Option(names = {"-t", "--threads"}, split = ",", description = "Worker threads (default: all cores; bench takes a list).")
    java.util.List<Integer> threads;

    @Option(names = "--q4_0-kernel", paramLabel = "integer|float", description = "How Q4_0 matrices are multiplied: integer "
            + "(llama.cpp's q4_0 x q8_0 arithmetic; the default) or float (old alias: -Dstride.q4_0).")
    String q4_0Kernel;

    @Option(names = "--mmap", negatable = true, description = "Keep the weights in the file mapping instead of copying them into "
            + "memory in the layout they multiply fastest in (less memory, slower decode; default --no-mmap; old alias: "
            + "-Dstride.weights=mapped).")
    Boolean mmap;

    LoadOptions options() {
        if (threads != null && threads.size() > 1) {
            throw new IllegalArgumentException("give one thread count (-t N); only bench takes a list");
        }
        return options(threads == null ? WorkerPool.defaultThreads() : threads.getFirst());
    }

    /** The thread counts asked for (bench), or all cores. */
    java.util.List<Integer> threadCounts() {
        return threads == null ? java.util.List.of(WorkerPool.defaultThreads()) : threads;
    }

    LoadOptions options(int t) {
        LoadOptions o = LoadOptions.defaults(t);
        if (q4_0Kernel != null) {
            o = o.withQ4_0Kernel(switch (q4_0Kernel) {
                case "integer" -> LoadOptions.Q4_0Kernel.INTEGER;
                case "float" -> LoadOptions.Q4_0Kernel.FLOAT;
                default -> throw new IllegalArgumentException("--q4_0-kernel must be integer or float, got '" + q4_0Kernel + "'");
            });
        }
        if (mmap != null) {
            o = o.withMapped(mmap);
        }
        return o;
    }
}
