package io.stride.bench;

import io.stride.core.gguf.GgmlType;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tensor.MatMul;
import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.QuantFormats;
import io.stride.core.tensor.Tensor;
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

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Weight matrix × activations for each tensor type: batch 1 is a decode step (fused kernels, bandwidth bound),
 * larger batches are prefill (decode a row once, reuse it across tokens). Weights live off-heap, as when mapped.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class MatMulBench {
    @Param({"F16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    public String type;
    @Param({"1", "16"})
    public int batch;
    @Param({"2048"})
    public int rows;
    @Param({"2048"})
    public int cols;
    @Param({"2"})
    public int threads;
    /** whether the weights are repacked as a model's are at load time ({@link QuantFormats#forCompute}) */
    @Param({"true"})
    public boolean repack;

    private Arena arena;
    private WorkerPool pool;
    private MatMul matmul;
    private Tensor weights;
    private float[] x;
    private float[] out;

    @Setup(Level.Trial)
    public void setup() {
        GgmlType t = GgmlType.valueOf(type);
        QuantFormat f = QuantFormats.of(t);
        SplittableRandom rnd = new SplittableRandom(1);
        float[] row = new float[cols];
        int rowBytes = (int) t.bytesFor(cols);
        byte[] buf = new byte[rowBytes * rows];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < cols; i++) row[i] = (float) (rnd.nextGaussian() * 0.02);
            f.quantize(row, 0, cols, buf, r * rowBytes);
        }
        arena = Arena.ofShared();
        MemorySegment seg = arena.allocate(buf.length, 64);
        MemorySegment.copy(MemorySegment.ofArray(buf), 0, seg, 0, buf.length);
        weights = new Tensor("w", t, rows, cols, seg, f);
        if (repack) weights = QuantFormats.forCompute(weights, arena, true);
        x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        out = new float[batch * rows];
        pool = new WorkerPool(threads);
        matmul = new MatMul(pool);
    }

    @Benchmark
    public float[] multiply() {
        matmul.multiply(weights, x, batch, out);
        return out;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }
}
