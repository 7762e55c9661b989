package io.stride.core.diffusion;

/** Sees every masked position a ranked step samples: its position, the token picked and its {@link FinalityFilter#FEATURES}. */
@FunctionalInterface
public interface StepObserver {
    void observe(int position, int token, float[] features);
}
