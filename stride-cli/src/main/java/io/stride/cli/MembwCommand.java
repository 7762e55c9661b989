package io.stride.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tools.MemoryBandwidth;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "membw", description = "Measure sustained memory read bandwidth (large buffer, several passes, best pass).")
final class MembwCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    @Option(names = {"-t", "--threads"}, description = "Reader threads (default: all cores).")
    Integer threads;
    @Option(names = "--size-mib", defaultValue = "1024", description = "Buffer size in MiB (default ${DEFAULT-VALUE}).")
    int sizeMib;
    @Option(names = "--passes", defaultValue = "5", description = "Timed passes (default ${DEFAULT-VALUE}).")
    int passes;
    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        int t = threads != null ? threads : WorkerPool.defaultThreads();
        if (t < 1 || t > 1024) {
            throw new IllegalArgumentException("--threads must be between 1 and 1024, got " + t);
        }
        if (sizeMib < 1 || sizeMib > 65536) {
            throw new IllegalArgumentException("--size-mib must be between 1 and 65536, got " + sizeMib);
        }
        if (passes < 1 || passes > 1000) {
            throw new IllegalArgumentException("--passes must be between 1 and 1000, got " + passes);
        }
        double bps;
        try (WorkerPool pool = new WorkerPool(t)) {
            bps = MemoryBandwidth.measure(pool, (long) sizeMib << 20, passes);
        }
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("test", "membw");
            o.put("threads", t);
            o.put("buffer_mib", sizeMib);
            o.put("gb_per_s", bps / 1e9);
            spec.commandLine().getOut().println(new ObjectMapper().writeValueAsString(o));
        } else {
            spec.commandLine().getOut().printf("memory read bandwidth: %.2f GB/s (%d threads, %d MiB buffer, best of %d passes)%n",
                    bps / 1e9, t, sizeMib, passes);
        }
        spec.commandLine().getOut().flush();
        return 0;
    }
}
