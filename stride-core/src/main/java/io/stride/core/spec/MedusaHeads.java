package io.stride.core.spec;

import io.stride.core.gguf.GgufException;
import io.stride.core.gguf.GgufFile;
import io.stride.core.gguf.GgufTensorInfo;
import io.stride.core.model.Model;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tensor.MatMul;
import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.QuantFormats;
import io.stride.core.tensor.Tensor;

import java.nio.file.Path;

/**
 * Medusa-1 heads read from GGUF ({@code general.architecture = medusa}): head k maps the base model's final
 * normalised hidden state h at position t to logits for token t + k + 2 as
 * {@code lm_head(h + silu(W_k h + b_k))}, with the base model's output projection.
 */
public final class MedusaHeads implements AutoCloseable {
    private final GgufFile file;
    private final Model base;
    private final int heads;
    private final int dim;
    private final Tensor[] fc;
    private final float[][] bias;
    private final MatMul matmul;
    private final float[] hidden;
    private final float[] mixed;
    private final float[] projected;

    private MedusaHeads(GgufFile file, Model base, WorkerPool pool) {
        this.file = file;
        this.base = base;
        var meta = file.meta();
        String arch = meta.string("general.architecture");
        if (!arch.equals("medusa")) {
            throw new GgufException(file.path() + ": general.architecture is '" + arch + "', expected 'medusa'");
        }
        this.heads = meta.positiveInt("medusa.head_count");
        this.dim = meta.positiveInt("medusa.embedding_length");
        if (heads > 16) {
            throw new GgufException(file.path() + ": medusa.head_count " + heads + " is more than 16");
        }
        if (dim != base.config().dim()) {
            throw new GgufException(file.path() + ": Medusa heads of width " + dim + " do not fit a model of embedding length "
                    + base.config().dim());
        }
        fc = new Tensor[heads];
        bias = new float[heads][];
        for (int k = 0; k < heads; k++) {
            fc[k] = matrix("medusa." + k + ".fc.weight", dim, dim);
            bias[k] = matrix("medusa." + k + ".fc.bias", dim, 1).toFloats();
        }
        this.matmul = new MatMul(pool);
        this.hidden = new float[dim];
        this.projected = new float[dim];
        this.mixed = new float[heads * dim];
    }

    /** Opens heads for {@code base}; every problem is a {@link GgufException} naming the file. */
    public static MedusaHeads open(Path path, Model base, WorkerPool pool) {
        GgufFile f = GgufFile.open(path);
        try {
            return new MedusaHeads(f, base, pool);
        } catch (RuntimeException e) {
            f.close();
            throw e instanceof GgufException g ? g : new GgufException(path + ": invalid Medusa heads: " + e, e);
        }
    }

    private Tensor matrix(String name, int cols, int rows) {
        GgufTensorInfo t = file.tensor(name);
        if (t == null) {
            throw new GgufException(file.path() + ": missing tensor '" + name + "'");
        }
        long[] d = t.dims();
        long r = 1;
        for (int i = 1; i < d.length; i++) r *= d[i];
        if (d[0] != cols || r != rows) {
            throw new GgufException(file.path() + ": tensor '" + name + "' has shape " + t.shape() + ", expected [" + cols + ", " + rows + "]");
        }
        QuantFormat f = QuantFormats.of(t.type());
        if (f == null) {
            throw new GgufException(file.path() + ": tensor '" + name + "' has unsupported type " + t.type());
        }
        return new Tensor(name, t.type(), rows, cols, file.tensorData(t), f);
    }

    public int heads() {
        return heads;
    }

    /**
     * Logits of every head for hidden state {@code h[hOff .. hOff + dim)}: {@code out} receives
     * {@code heads × vocab} values, head k at {@code k × vocab}.
     */
    public void logits(float[] h, int hOff, float[] out) {
        System.arraycopy(h, hOff, hidden, 0, dim);
        for (int k = 0; k < heads; k++) {
            matmul.multiply(fc[k], hidden, 1, projected);
            int off = k * dim;
            for (int i = 0; i < dim; i++) {
                double z = projected[i] + bias[k][i];
                mixed[off + i] = hidden[i] + (float) (z / (1.0 + Math.exp(-z)));
            }
        }
        matmul.multiply(base.weights().output(), mixed, heads, out);
    }

    @Override
    public void close() {
        file.close();
    }
}
