package io.stride.core.tools;

import org.junit.jupiter.api.Test;

import java.util.function.LongSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/** The benchmark's warm-up: passes until one is not 3 % faster than the best before it, within 2..6 passes. */
class BenchmarkWarmupTest {
    /** Pass times from a list, counting the calls. */
    private static final class Passes implements LongSupplier {
        final long[] times;
        int calls;

        Passes(long... times) {
            this.times = times;
        }

        @Override
        public long getAsLong() {
            return times[Math.min(calls++, times.length - 1)];
        }
    }

    @Test
    void stopsWhenAPassIsNoLongerFaster() {
        // 100 -> 80 (20 % faster: keep warming) -> 79 (1.25 % faster than 80: settled), then the timed passes
        Passes p = new Passes(100, 80, 79, 50, 40);
        double[] tps = Benchmark.measure(p, 10, 2);
        assertThat(p.calls).isEqualTo(5);
        assertThat(tps).containsExactly(10 * 1e9 / 50, 10 * 1e9 / 40);
    }

    @Test
    void warmsUpAtLeastTwiceAndAtMostSixTimes() {
        Passes flat = new Passes(100, 100, 100, 7);
        assertThat(Benchmark.measure(flat, 1, 1)).containsExactly(1e9 / 100);
        assertThat(flat.calls).isEqualTo(Benchmark.MIN_WARMUPS + 1);

        // 10 % faster every pass: never settles, stops after MAX_WARMUPS passes
        Passes falling = new Passes(1000, 900, 810, 729, 656, 590, 531, 478);
        assertThat(Benchmark.measure(falling, 1, 1)).containsExactly(1e9 / 531);
        assertThat(falling.calls).isEqualTo(Benchmark.MAX_WARMUPS + 1);
    }
}
