package io.stride.core.parallel;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GuidedClaimsTest {
    /** Every item is claimed exactly once when the pool's workers claim concurrently, over many ranges. */
    @Test
    void workersClaimEveryItemExactlyOnce() {
        try (WorkerPool pool = new WorkerPool(3)) {
            GuidedClaims claims = new GuidedClaims();
            for (int total : new int[] {0, 1, 5, 64, 511, 4096}) {
                for (int min : new int[] {1, 3, 16}) {
                    AtomicIntegerArray seen = new AtomicIntegerArray(Math.max(1, total));
                    claims.reset(total, pool.size(), min);
                    pool.run((w, n) -> {
                        for (int s = claims.claim(); s >= 0; s = claims.claim()) {
                            for (int i = s; i < claims.end(s); i++) seen.incrementAndGet(i);
                        }
                    });
                    for (int i = 0; i < total; i++) assertThat(seen.get(i)).as("item %d of %d, min %d", i, total, min).isEqualTo(1);
                }
            }
        }
    }

    /** Claims shrink from remaining / (2·workers) down to the minimum, so a range takes few claims. */
    @Test
    void claimsShrinkTowardsTheMinimum() {
        GuidedClaims claims = new GuidedClaims();
        claims.reset(1000, 2, 10);
        assertThat(claims.claim()).isZero();
        assertThat(claims.end(0)).isEqualTo(250);
        int count = 1;
        int last = 0;
        for (int s = claims.claim(); s >= 0; s = claims.claim()) {
            last = claims.end(s) - s;
            count++;
        }
        assertThat(last).isLessThanOrEqualTo(10);
        assertThat(count).isLessThan(40);
        assertThatThrownBy(() -> claims.reset(10, 2, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
