package io.stride.core.diffusion;

/**
 * Decides at a step whether a masked position's pick is already final, so the step may unmask it beyond the schedule:
 * Learn2PD's learned {@link FinalityFilter}, or (for measuring the bound) an oracle that knows the final answer.
 */
@FunctionalInterface
public interface FinalityRule {
    /** {@code features}: the position's {@link FinalityFilter#FEATURES} at this step. */
    boolean isFinal(int position, int token, float[] features);
}
