package io.stride.core.model;

import io.stride.core.tensor.Tensor;

/** The tensors of one decoder block; optional ones are null. Norm weights and biases are decoded to floats. */
public record LayerWeights(
        float[] attnNorm,
        Tensor wq, Tensor wk, Tensor wv,
        float[] bq, float[] bk, float[] bv,
        float[] qNorm, float[] kNorm,
        Tensor wo,
        float[] ffnNorm,
        Tensor wGate, Tensor wUp, Tensor wDown) {
}
