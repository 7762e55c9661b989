package io.stride.core.tensor.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Pulls a range of weights into the core's caches ahead of a kernel that streams them, with one 8-byte load per
 * 64-byte line and nothing else. Java has no prefetch instruction, and a kernel that does tens of vector operations
 * per 128 bytes keeps few loads in flight (the reorder buffer fills with its arithmetic), so it reads DRAM far below
 * what a plain streaming loop reads. Touching a chunk first, with a loop whose window holds hundreds of lines, then
 * running the kernel over it from L1/L2 is faster than either alone (docs/performance-notes.md, "Decode").
 */
public final class Prefetch {
    /** bytes touched per step: within a core's L1, enough lines to keep DRAM busy */
    static final long CHUNK = 32 * 1024;
    private static final int LINE = 64;

    private Prefetch() {}

    /** Units of {@code unitBytes} (a four-row group, say) that make one {@link #CHUNK}: at least one. */
    public static int unitsPerChunk(long unitBytes) {
        return (int) Math.max(1, CHUNK / unitBytes);
    }

    /**
     * Reads one long from every 64-byte line of {@code [from, to)} of {@code m} (clamped to the segment) and returns
     * their sum, which the caller must consume (e.g. into a field) so that the loads are not removed as dead code.
     */
    static long touch(MemorySegment m, long from, long to) {
        long end = Math.min(to, m.byteSize() - 8);
        long s = 0;
        for (long o = from & -LINE; o < end; o += LINE) {
            s += m.get(ValueLayout.JAVA_LONG_UNALIGNED, o);
        }
        return s;
    }
}
