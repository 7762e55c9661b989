package io.stride.core.model;

import io.stride.core.tensor.Tensor;

/**
 * All weights of a decoder model. {@code output} is {@code tokenEmbedding} when the embedding is tied.
 * {@code ropeFreqFactors} (Llama 3.1 {@code rope_freqs}) is null when absent.
 */
public record ModelWeights(Tensor tokenEmbedding, LayerWeights[] layers, float[] outputNorm, Tensor output,
                           float[] ropeFreqFactors) {

    /** Bytes of weights read by one decode step (every matrix once, the embedding row aside). */
    public long bytesPerToken() {
        long n = output.byteSize();
        for (LayerWeights l : layers) {
            n += l.wq().byteSize() + l.wk().byteSize() + l.wv().byteSize() + l.wo().byteSize()
                    + l.wGate().byteSize() + l.wUp().byteSize() + l.wDown().byteSize();
        }
        return n;
    }
}
