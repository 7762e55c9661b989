package io.stride.core.tensor.kernel;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * Where a heap array's elements lie relative to 64-byte cache lines. Java arrays are only 8-byte aligned, so a 64-byte
 * vector load at a multiple of 64 bytes into one usually spans two lines, which the integer prefill tile pays for on
 * every load (docs/performance-notes.md, "Prefill"). The address of an
 * array is not visible to Java code: it is read here by passing the array to libc's {@code memset(p, 0, 0)}, which
 * writes nothing and returns {@code p}, through a critical downcall (the array is passed in place, no copy, and no
 * garbage collection runs during the call). The collector may move the array afterwards, so callers ask again for
 * each product; a move in between costs speed, never correctness, since callers only choose where in the array their
 * data starts.
 */
public final class CacheLines {
    static final int LINE = 64;
    private static final MethodHandle ADDRESS = addressProbe();

    private CacheLines() {}

    private static MethodHandle addressProbe() {
        try {
            Linker linker = Linker.nativeLinker();
            Optional<MemorySegment> memset = linker.defaultLookup().find("memset");
            if (memset.isEmpty()) return null;
            return linker.downcallHandle(memset.get(),
                    FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG),
                    Linker.Option.critical(true));
        } catch (RuntimeException | LinkageError e) {
            return null; // no native linker on this platform: data stays where it is, only slower
        }
    }

    /**
     * The first index of the array viewed by {@code heap} (a segment of a whole array, made once by the caller with
     * {@link MemorySegment#ofArray}) that starts a cache line now, for elements of {@code elementBytes} bytes; 0 when the
     * address cannot be read.
     */
    public static int firstAligned(MemorySegment heap, int elementBytes) {
        if (ADDRESS == null) return 0;
        long address;
        try {
            address = (long) ADDRESS.invokeExact(heap, 0, 0L);
        } catch (Throwable e) {
            return 0;
        }
        return (int) ((LINE - (address & (LINE - 1))) & (LINE - 1)) / elementBytes;
    }

    /** Elements of {@code elementBytes} bytes an array needs beyond its data so that the data can start a line. */
    public static int slack(int elementBytes) {
        return LINE / elementBytes;
    }
}
