package io.stride.core.model;

import io.stride.core.gguf.GgmlType;
import io.stride.core.gguf.GgufException;
import io.stride.core.gguf.GgufFile;
import io.stride.core.gguf.GgufTensorInfo;
import io.stride.core.tensor.QuantFormat;
import io.stride.core.tensor.QuantFormats;
import io.stride.core.tensor.Tensor;
import io.stride.core.tools.Progress;

import java.lang.foreign.Arena;

/** Finds the tensors a model needs in a GGUF file and checks their shapes and types. */
final class WeightLoader {
    private final GgufFile file;
    /** holds the matrices copied for computing ({@link QuantFormats#forCompute}); null: keep all as mapped */
    private final Arena repacked;

    private final LoadOptions.Q4_0Kernel q4_0Kernel;

    WeightLoader(GgufFile file, Arena repacked, LoadOptions.Q4_0Kernel q4_0Kernel) {
        this.file = file;
        this.repacked = repacked;
        this.q4_0Kernel = q4_0Kernel;
    }

    /** A matrix the forward pass multiplies by, in the layout it multiplies fastest. */
    private Tensor weight(String name, int cols, int rows) {
        Tensor t = matrix(name, cols, rows);
        return repacked == null ? t : QuantFormats.forCompute(t, repacked, q4_0Kernel == LoadOptions.Q4_0Kernel.INTEGER);
    }

    private GgufException error(String msg) {
        return new GgufException(file.path() + ": " + msg);
    }

    boolean has(String name) {
        return file.tensor(name) != null;
    }

    /** A matrix with {@code cols} values per row and {@code rows} rows (ggml shape [cols, rows]). */
    Tensor matrix(String name, int cols, int rows) {
        GgufTensorInfo t = file.tensor(name);
        if (t == null) {
            throw error("missing tensor '" + name + "'");
        }
        long[] d = t.dims();
        long r = 1;
        for (int i = 1; i < d.length; i++) {
            r *= d[i];
        }
        if (d[0] != cols || r != rows) {
            throw error("tensor '" + name + "' has shape " + t.shape() + ", expected [" + cols + ", " + rows + "]");
        }
        QuantFormat f = QuantFormats.of(t.type());
        if (f == null) {
            throw error("tensor '" + name + "' has type " + t.type() + ", which Stride cannot compute with yet");
        }
        return new Tensor(name, t.type(), rows, cols, file.tensorData(t), f);
    }

    Tensor optionalMatrix(String name, int cols, int rows) {
        return has(name) ? matrix(name, cols, rows) : null;
    }

    float[] vector(String name, int n) {
        return matrix(name, n, 1).toFloats();
    }

    float[] optionalVector(String name, int n) {
        return has(name) ? vector(name, n) : null;
    }

    ModelWeights load(ModelConfig c, Progress progress) {
        // a tied embedding is also the output projection: one tensor, in the layout the output product wants (token
        // lookups decode single rows from it in any layout)
        boolean tied = !has("output.weight");
        Tensor embd = tied ? weight("token_embd.weight", c.dim(), c.vocab()) : matrix("token_embd.weight", c.dim(), c.vocab());
        LayerWeights[] layers = new LayerWeights[c.layers()];
        progress.update(0, c.layers() + 1);
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            float[] bq = optionalVector(p + "attn_q.bias", c.qDim());
            float[] bk = optionalVector(p + "attn_k.bias", c.kvDimK());
            float[] bv = optionalVector(p + "attn_v.bias", c.kvDimV());
            if (c.arch().requiresBias() && (bq == null || bk == null || bv == null)) {
                throw error("architecture " + c.arch().name() + " needs q/k/v biases; '" + p + "attn_q.bias' or its siblings are missing");
            }
            float[] qn = optionalVector(p + "attn_q_norm.weight", c.headDimK());
            float[] kn = optionalVector(p + "attn_k_norm.weight", c.headDimK());
            if (c.arch().requiresQkNorm() && (qn == null || kn == null)) {
                throw error("architecture " + c.arch().name() + " needs '" + p + "attn_q_norm.weight' and '" + p + "attn_k_norm.weight'");
            }
            layers[i] = new LayerWeights(
                    vector(p + "attn_norm.weight", c.dim()),
                    weight(p + "attn_q.weight", c.dim(), c.qDim()),
                    weight(p + "attn_k.weight", c.dim(), c.kvDimK()),
                    weight(p + "attn_v.weight", c.dim(), c.kvDimV()),
                    bq, bk, bv, qn, kn,
                    weight(p + "attn_output.weight", c.heads() * c.headDimV(), c.dim()),
                    vector(p + "ffn_norm.weight", c.dim()),
                    weight(p + "ffn_gate.weight", c.dim(), c.ffnDim()),
                    weight(p + "ffn_up.weight", c.dim(), c.ffnDim()),
                    weight(p + "ffn_down.weight", c.ffnDim(), c.dim()));
            progress.update(i + 1, c.layers() + 1);
        }
        float[] outNorm = vector("output_norm.weight", c.dim());
        Tensor out = tied ? embd : weight("output.weight", c.dim(), c.vocab());
        float[] ropeFreqs = optionalVector("rope_freqs.weight", c.ropeDim() / 2);
        if (ropeFreqs != null) {
            for (float f : ropeFreqs) {
                if (!(f > 0) || Float.isInfinite(f)) {
                    throw error("rope_freqs.weight holds a non-positive or non-finite factor " + f);
                }
            }
        }
        progress.update(c.layers() + 1, c.layers() + 1);
        return new ModelWeights(embd, layers, outNorm, out, ropeFreqs);
    }

    /** Vocabulary size implied by the embedding tensor. */
    int vocabFromEmbedding() {
        GgufTensorInfo t = file.tensor("token_embd.weight");
        if (t == null) {
            throw error("missing tensor 'token_embd.weight'");
        }
        if (t.dims().length < 2 || t.dims()[1] > Integer.MAX_VALUE) {
            throw error("tensor 'token_embd.weight' has shape " + t.shape() + ", expected [dim, vocab]");
        }
        if (t.type() == GgmlType.F64) {
            throw error("tensor 'token_embd.weight' has unsupported type F64");
        }
        return (int) t.dims()[1];
    }
}
