package io.stride.core.tensor.kernel;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link CacheLines} reads where data lies: checked on memory whose address is known, and on heap arrays. */
class CacheLinesTest {
    @Test
    void findsTheFirstElementAtALineBoundary() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment line = arena.allocate(256, 64);
            assertThat(CacheLines.firstAligned(line, Short.BYTES)).isZero();
            assertThat(CacheLines.firstAligned(line.asSlice(8), Short.BYTES)).isEqualTo(28);
            assertThat(CacheLines.firstAligned(line.asSlice(40), Short.BYTES)).isEqualTo(12);
            assertThat(CacheLines.firstAligned(line.asSlice(16), Float.BYTES)).isEqualTo(12);
            assertThat(CacheLines.firstAligned(line.asSlice(64), Float.BYTES)).isZero();
        }
    }

    @Test
    void heapArraysGetAnIndexWithinTheirSlack() {
        for (int n = 1; n < 40; n++) {
            short[] a = new short[n * 100 + CacheLines.slack(Short.BYTES)];
            int i = CacheLines.firstAligned(MemorySegment.ofArray(a), Short.BYTES);
            // Java arrays are 8-byte aligned: the index is a multiple of four shorts within one line
            assertThat(i).isBetween(0, CacheLines.slack(Short.BYTES) - 1);
            assertThat(i % 4).isZero();
        }
    }
}
