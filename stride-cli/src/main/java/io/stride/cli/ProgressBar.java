package io.stride.cli;

import io.stride.core.tools.Progress;

import java.io.PrintWriter;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * Progress of a long operation on stderr: on a terminal one line redrawn in place ({@code label [=====>   ] 45%}),
 * otherwise (a log file, a pipe, a test) a plain line at each tenth, so logs stay readable.
 */
final class ProgressBar implements Progress, AutoCloseable {
    private static final int WIDTH = 30;
    private final PrintWriter err;
    private final String label;
    private final boolean terminal;
    private final long startNanos = System.nanoTime();
    private int lastShown = -1;
    private boolean drawn;

    ProgressBar(PrintWriter err, String label, boolean terminal) {
        this.err = err;
        this.label = label;
        this.terminal = terminal;
    }

    /** A bar on the process's stderr, drawn in place when it is a terminal. */
    static ProgressBar onStderr(PrintWriter err, String label) {
        return new ProgressBar(err, label, stderrIsTerminal());
    }

    @Override
    public synchronized void update(long done, long total) {
        if (total <= 0) {
            return;
        }
        int pct = (int) Math.min(100, done * 100 / total);
        if (terminal) {
            if (pct == lastShown) return;
            int fill = pct * WIDTH / 100;
            err.print(String.format(Locale.ROOT, "\r%s [%s%s] %3d%%", label, "=".repeat(fill), " ".repeat(WIDTH - fill), pct));
            drawn = true;
        } else {
            int tenth = pct / 10;
            if (tenth == lastShown / 10 && lastShown >= 0) return;
            err.println(String.format(Locale.ROOT, "%s: %d%%", label, tenth * 10));
        }
        lastShown = pct;
        err.flush();
    }

    /** Ends the bar's line with the time it took. */
    @Override
    public synchronized void close() {
        if (terminal && drawn) {
            err.println(String.format(Locale.ROOT, " %.1f s", (System.nanoTime() - startNanos) / 1e9));
            err.flush();
        }
    }

    private static boolean stderrIsTerminal() {
        try {
            Linker linker = Linker.nativeLinker();
            MethodHandle isatty = linker.downcallHandle(linker.defaultLookup().find("isatty").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            return (int) isatty.invokeExact(2) == 1;
        } catch (Throwable t) {
            return false;
        }
    }
}
