package io.stride.bench;

import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tools.QuantTarget;
import io.stride.core.tools.SynthPreset;
import io.stride.core.tools.SyntheticModel;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * One whole decode step (all layers, attention over {@code context} cached positions, logits) of a small
 * synthetic model: shows how attention cost grows with context next to the fixed matmul cost.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class DecodeStepBench {
    @Param({"16", "512", "1000"})
    public int context;
    @Param({"2"})
    public int threads;

    private Path file;
    private Model model;
    private WorkerPool pool;
    private Transformer tf;
    private PagedKvCache cache;
    private KvSequence seq;
    private final Batch batch = new Batch();
    private float[] logits;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        file = Files.createTempFile("stride-bench", ".gguf");
        pool = new WorkerPool(threads);
        SyntheticModel.write(SynthPreset.TEST_TINY, QuantTarget.Q8_0, file, 1, pool);
        model = Model.open(file);
        tf = new Transformer(model, pool);
        cache = tf.newCache(16, 64);
        seq = cache.newSequence();
        cache.reserve(seq, context + 1);
        for (int p = 0; p < context; p += 256) {
            batch.clear();
            for (int i = p; i < Math.min(context, p + 256); i++) batch.add(i % 1000, i, seq, false);
            tf.forward(batch, cache, new float[0]);
        }
        logits = new float[model.config().vocab()];
    }

    @Benchmark
    public float[] decodeStep() {
        batch.clear();
        batch.add(7, context, seq, true);
        tf.forward(batch, cache, logits);
        return logits;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        pool.close();
        model.close();
        Files.deleteIfExists(file);
    }
}
