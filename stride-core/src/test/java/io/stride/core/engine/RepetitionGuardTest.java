package io.stride.core.engine;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RepetitionGuardTest {
    /** Feeds tokens; returns the 1-based index at which the guard fired, or -1. */
    static int firesAt(RepetitionGuard g, int[] tokens) {
        for (int i = 0; i < tokens.length; i++) {
            if (g.accept(tokens[i])) return i + 1;
        }
        return -1;
    }

    @Test
    void firesOnceAPatternFillsTheWindow() {
        int[] t = new int[200];
        for (int i = 0; i < 10; i++) t[i] = 100 + i; // varied start
        for (int i = 10; i < t.length; i++) t[i] = 7 + (i - 10) % 5; // period 5
        assertThat(firesAt(new RepetitionGuard(40), t)).isEqualTo(10 + 40);
        int[] same = new int[100];
        assertThat(firesAt(new RepetitionGuard(16), same)).isEqualTo(16);
    }

    @Test
    void longPeriodsAndVariedTextDoNotFire() {
        int[] t = new int[2000];
        for (int i = 0; i < t.length; i++) t[i] = (int) ((i * 2654435761L) >>> 7) % 5000;
        assertThat(firesAt(new RepetitionGuard(32), t)).isEqualTo(-1);
        int[] p = new int[400];
        for (int i = 0; i < p.length; i++) p[i] = i % 20;
        assertThat(firesAt(new RepetitionGuard(80), p)).isEqualTo(80);
        assertThat(firesAt(new RepetitionGuard(60), p)).isEqualTo(-1); // 20 > 60/4: too long a pattern for this window
    }

    @Test
    void aBreakInThePatternRestartsTheCount() {
        int[] t = new int[100];
        for (int i = 0; i < t.length; i++) t[i] = i % 3;
        t[30] = 99;
        assertThat(firesAt(new RepetitionGuard(40), t)).isEqualTo(31 + 3 + 40 - 3);
    }

    @Test
    void windowTooSmallIsRefused() {
        assertThatThrownBy(() -> new RepetitionGuard(4)).isInstanceOf(IllegalArgumentException.class);
    }
}
