package io.stride.core.model;

import java.util.LinkedHashMap;
import java.util.Map;

/** Time spent per part of the forward pass, accumulated over calls (for profiling decode steps). */
public final class ForwardProfile {
    /** The parts a forward pass is split into. */
    public enum Part { EMBEDDING, NORMS_ROPE_ELEMENTWISE, ATTENTION_PROJECTIONS, ATTENTION, FEED_FORWARD, LOGITS }

    private final long[] nanos = new long[Part.values().length];
    private long forwards;

    void add(Part p, long ns) {
        nanos[p.ordinal()] += ns;
    }

    void countForward() {
        forwards++;
    }

    public long forwards() {
        return forwards;
    }

    public long total() {
        long t = 0;
        for (long n : nanos) t += n;
        return t;
    }

    /** Share of the total per part, in declaration order. */
    public Map<Part, Double> shares() {
        Map<Part, Double> m = new LinkedHashMap<>();
        long t = Math.max(1, total());
        for (Part p : Part.values()) m.put(p, nanos[p.ordinal()] / (double) t);
        return m;
    }

    public void reset() {
        java.util.Arrays.fill(nanos, 0);
        forwards = 0;
    }
}
