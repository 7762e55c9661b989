package io.stride.cli;

import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * How {@code serve} learns that it should stop: SIGTERM (what Kubernetes and systemd send) or SIGINT (Ctrl-C).
 * The signals are taken over instead of left to the JVM, whose own handling starts an exit with status 143 at
 * once; here the first signal starts a graceful drain that ends with status 0, and a second one exits at once.
 * The previous handlers come back once the server has stopped.
 */
final class Shutdown implements AutoCloseable {
    private final CountDownLatch requested = new CountDownLatch(1);
    private final Map<Signal, SignalHandler> previous = new HashMap<>();
    private volatile String reason;

    private Shutdown() {}

    static Shutdown onSignals() {
        Shutdown s = new Shutdown();
        for (String name : new String[]{"TERM", "INT"}) {
            try {
                Signal sig = new Signal(name);
                s.previous.put(sig, Signal.handle(sig, x -> s.signalled("SIG" + name)));
            } catch (IllegalArgumentException e) {
                // the signal is not available here (or the JVM reserves it): the JVM's default handling stays
            }
        }
        return s;
    }

    private void signalled(String name) {
        if (requested.getCount() == 0) {
            System.err.println("stride: " + name + " again: exiting now");
            Runtime.getRuntime().halt(1);
        }
        request(name);
    }

    void request(String why) {
        if (reason == null) {
            reason = why;
        }
        requested.countDown();
    }

    /** Waits for the first request to stop; returns what asked (e.g. "SIGTERM"). */
    String await() throws InterruptedException {
        requested.await();
        return reason;
    }

    /** Gives the signals back to their previous handlers. */
    @Override
    public void close() {
        previous.forEach(Signal::handle);
    }
}
