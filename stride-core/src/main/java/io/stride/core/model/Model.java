package io.stride.core.model;

import io.stride.core.gguf.GgufException;
import io.stride.core.gguf.GgufFile;
import io.stride.core.tokenizer.Tokenizer;
import io.stride.core.tokenizer.Tokenizers;

import java.nio.file.Path;

/** A loaded model: its file, hyper-parameters, weights (mapped, not copied) and tokenizer. */
public final class Model implements AutoCloseable {
    private final GgufFile file;
    private final ModelConfig config;
    private final ModelWeights weights;
    private final Tokenizer tokenizer;

    private Model(GgufFile file, ModelConfig config, ModelWeights weights, Tokenizer tokenizer) {
        this.file = file;
        this.config = config;
        this.weights = weights;
        this.tokenizer = tokenizer;
    }

    /** Opens and validates a GGUF model; every problem is reported as a {@link GgufException} naming the file. */
    public static Model open(Path path) {
        GgufFile f = GgufFile.open(path);
        try {
            WeightLoader loader = new WeightLoader(f);
            int vocab = loader.vocabFromEmbedding();
            ModelConfig c = ModelConfig.from(f.meta(), path.toString(), vocab);
            ModelWeights w = loader.load(c);
            Tokenizer t = Tokenizers.fromMetadata(f.meta(), path.toString(), vocab);
            return new Model(f, c, w, t);
        } catch (GgufException e) {
            f.close();
            throw e;
        } catch (RuntimeException e) {
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

    @Override
    public void close() {
        file.close();
    }
}
