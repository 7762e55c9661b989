package io.stride.core.model;

import io.stride.core.gguf.GgufException;
import io.stride.core.gguf.GgufFile;
import io.stride.core.tokenizer.Tokenizer;
import io.stride.core.tokenizer.Tokenizers;
import io.stride.core.tools.Progress;

import java.lang.foreign.Arena;
import java.nio.file.Path;

/**
 * A loaded model: its file, hyper-parameters, weights and tokenizer. The matrices the forward pass multiplies by are
 * copied at load time into the model's own arena (Q4_0/Q8_0 repacked four rows at a time, see
 * {@code QuantFormats.forCompute}) and live there until {@link #close}; the token embedding and small tensors are read
 * from the file mapping.
 */
public final class Model implements AutoCloseable {
    private final GgufFile file;
    private final Arena repacked;
    private final ModelConfig config;
    private final ModelWeights weights;
    private final Tokenizer tokenizer;

    private Model(GgufFile file, Arena repacked, ModelConfig config, ModelWeights weights, Tokenizer tokenizer) {
        this.file = file;
        this.repacked = repacked;
        this.config = config;
        this.weights = weights;
        this.tokenizer = tokenizer;
    }

    /** Opens and validates a GGUF model; every problem is reported as a {@link GgufException} naming the file. */
    public static Model open(Path path) {
        return open(path, LoadOptions.defaults(1), Progress.NONE);
    }

    /**
     * As {@link #open(Path)}, with the weights prepared as {@code options} say, telling {@code progress} how many of the
     * layers' weights are ready.
     */
    public static Model open(Path path, LoadOptions options, Progress progress) {
        GgufFile f = GgufFile.open(path);
        Arena repacked = Arena.ofShared();
        try {
            WeightLoader loader = new WeightLoader(f, options.mapped() ? null : repacked, options.q4_0Kernel());
            int vocab = loader.vocabFromEmbedding();
            ModelConfig c = ModelConfig.from(f.meta(), path.toString(), vocab);
            ModelWeights w = loader.load(c, progress);
            Tokenizer t = Tokenizers.fromMetadata(f.meta(), path.toString(), vocab);
            return new Model(f, repacked, c, w, t);
        } catch (GgufException e) {
            repacked.close();
            f.close();
            throw e;
        } catch (RuntimeException e) {
            repacked.close();
            f.close();
            throw new GgufException(path + ": invalid model: " + e, e);
        }
    }

    public GgufFile file() {
        return file;
    }

    public ModelConfig config() {
        return config;
    }

    public ModelWeights weights() {
        return weights;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** Whether this is a masked-diffusion model (bidirectional attention, text by unmasking; see {@code io.stride.core.diffusion}). */
    public boolean isDiffusion() {
        return config.arch().diffusion();
    }

    /**
     * Throws an {@link IllegalArgumentException} naming {@code what} when this is a diffusion model: it has no
     * next-token distribution, so next-token generation, scoring and drafting do not apply to it.
     */
    public Model requireAutoregressive(String what) {
        if (isDiffusion()) {
            throw new IllegalArgumentException(what + " needs an autoregressive model; " + file.path().getFileName()
                    + " is a diffusion model (architecture " + config.arch().name()
                    + "): it generates by unmasking, with 'stride generate', 'stride serve' or 'stride bench-diffusion'");
        }
        return this;
    }

    @Override
    public void close() {
        if (repacked.scope().isAlive()) repacked.close();
        file.close();
    }
}
