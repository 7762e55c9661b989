package io.stride.bench;

import io.stride.core.tensor.kernel.LayerOps;
import io.stride.core.tensor.kernel.VectorMath;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/** The element-wise kernels of a layer: RMSNorm, softmax, SwiGLU, residual add, dot and axpy (attention). */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class VectorOpsBench {
    private final float[] x = new float[5632];
    private final float[] y = new float[5632];
    private final float[] w = new float[5632];
    private final float[] scores = new float[2048];
    private final float[] lanes = new float[VectorMath.LANES];

    @Setup
    public void setup() {
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
            y[i] = (float) r.nextGaussian();
            w[i] = 1f + (float) r.nextGaussian() * 0.1f;
        }
    }

    @Benchmark
    public float[] rmsNorm2048() {
        LayerOps.rmsNorm(y, 0, x, 0, w, 2048, 1e-5f);
        return y;
    }

    @Benchmark
    public float[] softmax2048() {
        System.arraycopy(x, 0, scores, 0, 2048);
        LayerOps.softmax(scores, 0, 2048);
        return scores;
    }

    @Benchmark
    public float[] swiGlu5632() {
        System.arraycopy(x, 0, w, 0, 5632);
        LayerOps.swiGlu(w, y, 0, 5632);
        return w;
    }

    @Benchmark
    public float[] residualAdd2048() {
        LayerOps.add(y, x, 2048);
        return y;
    }

    @Benchmark
    public float dotHead64() {
        return VectorMath.dot(x, 0, y, 64, 64, lanes, 0);
    }

    @Benchmark
    public float[] axpyHead64() {
        LayerOps.axpy(y, 0, 0.5f, x, 64, 64);
        return y;
    }
}
