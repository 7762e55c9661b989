package io.stride.core.engine;


/**
 * How an embedding request turns the final hidden states of its tokens (after the output norm) into one
 * vector, which is then scaled to unit length. Rows are added in position order, whatever steps the prompt was
 * split into, so the vector is the same whatever else the batch holds.
 */
public enum Pooling {
    /** the mean over every token */
    MEAN,
    /** the last token's state (what a causal model has seen the whole input by) */
    LAST
}
