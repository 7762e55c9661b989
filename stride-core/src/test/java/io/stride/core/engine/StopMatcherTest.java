package io.stride.core.engine;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class StopMatcherTest {
    @Test
    void holdsBackPossibleStopPrefixAndNeverEmitsTheStop() {
        StopMatcher m = new StopMatcher(List.of("END", "\n\n"));
        StringBuilder out = new StringBuilder();
        for (String piece : new String[]{"hello E", "N", "ough. E", "ND more"}) {
            out.append(m.accept(piece));
        }
        assertThat(m.stopped()).isTrue();
        assertThat(out.toString()).isEqualTo("hello ENough. ");
    }

    @Test
    void flushReleasesHeldText() {
        StopMatcher m = new StopMatcher(List.of("STOP"));
        assertThat(m.accept("abc ST")).isEqualTo("abc ");
        assertThat(m.flush()).isEqualTo("ST");
        assertThat(m.stopped()).isFalse();
    }
}
