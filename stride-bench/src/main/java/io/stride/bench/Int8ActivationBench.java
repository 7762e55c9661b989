package io.stride.bench;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.QuantFormats;
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
 * One decode-step product (rows × cols, one thread) with the engine's float kernels ({@code QuantFormat.dot}: weights
 * decoded in registers, float activations) against ggml's integer scheme ({@link Int8ActivationDot}: activations
 * quantized to 8 bits once per product, integer block dot products). Setup checks that both agree within 2 % of the
 * output's scale, so the timing never compares a broken kernel.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class Int8ActivationBench {
    @Param({"Q8_0", "Q4_0"})
    public String type;
    @Param({"1280"})
    public int rows;
    @Param({"512"})
    public int cols;

    private Arena arena;
    private MemorySegment weights;
    private QuantFormat format;
    private long rowBytes;
    private float[] x;
    private float[] out;
    private float[] scratch;
    private short[] q;
    private float[] scales;

    @Setup(Level.Trial)
    public void setup() {
        GgmlType t = GgmlType.valueOf(type);
        format = QuantFormats.of(t);
        SplittableRandom rnd = new SplittableRandom(1);
        rowBytes = t.bytesFor(cols);
        byte[] buf = new byte[(int) (rowBytes * rows)];
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < cols; i++) row[i] = (float) (rnd.nextGaussian() * 0.02);
            format.quantize(row, 0, cols, buf, (int) (r * rowBytes));
        }
        arena = Arena.ofShared();
        weights = arena.allocate(buf.length, 64);
        MemorySegment.copy(MemorySegment.ofArray(buf), 0, weights, 0, buf.length);
        x = new float[cols];
        for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
        out = new float[rows];
        scratch = new float[cols + 64];
        q = new short[cols];
        scales = new float[cols / 32];
        float[] ref = floatPath().clone();
        float[] got = int8Path();
        double scale = 0, err = 0;
        for (int r = 0; r < rows; r++) {
            scale = Math.max(scale, Math.abs(ref[r]));
            err = Math.max(err, Math.abs(ref[r] - got[r]));
        }
        if (err > 0.02 * scale) {
            throw new IllegalStateException("int8 path disagrees with the float path: max error " + err + " of scale " + scale);
        }
    }

    @Benchmark
    public float[] floatPath() {
        for (int r = 0; r < rows; r++) out[r] = format.dot(weights, r * rowBytes, x, 0, cols, scratch);
        return out;
    }

    @Benchmark
    public float[] int8Path() {
        Int8ActivationDot.quantize(x, cols, q, scales);
        boolean q8 = format.type() == GgmlType.Q8_0;
        for (int r = 0; r < rows; r++) {
            out[r] = q8 ? Int8ActivationDot.dotQ8_0(weights, r * rowBytes, q, scales, cols)
                    : Int8ActivationDot.dotQ4_0(weights, r * rowBytes, q, scales, cols);
        }
        return out;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }
}
