package io.stride.core.engine;

import io.stride.core.spec.DraftMethod;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Speculative decoding in the engine: the drafters loaded (by name), the one used when a request does not choose
 * (null: none), the most drafted tokens per sequence and step, and whether each sequence's draft size adapts to its
 * acceptance and to the measured cost of bigger batches (down to none) or is always {@code maxDraft}.
 */
public record SpeculationConfig(Map<String, DraftMethod> methods, String defaultMethod, int maxDraft, boolean adaptive) {
    /** Speculation off. */
    public static final SpeculationConfig NONE = new SpeculationConfig(Map.of(), null, 1, true);

    public SpeculationConfig(Map<String, DraftMethod> methods, String defaultMethod, int maxDraft) {
        this(methods, defaultMethod, maxDraft, true);
    }

    public SpeculationConfig {
        methods = new LinkedHashMap<>(methods);
        if (defaultMethod != null && !methods.containsKey(defaultMethod)) {
            throw new IllegalArgumentException("default drafter '" + defaultMethod + "' is not loaded");
        }
        if (maxDraft < 1 || maxDraft > 64) {
            throw new IllegalArgumentException("the most drafted tokens per step must be between 1 and 64, got " + maxDraft);
        }
    }

    /** The method a request asking for {@code name} gets: null = the default, "none" = no speculation. */
    public DraftMethod resolve(String name) {
        if (name == null) {
            return defaultMethod == null ? null : methods.get(defaultMethod);
        }
        if (name.equals("none")) {
            return null;
        }
        DraftMethod m = methods.get(name);
        if (m == null) {
            throw new IllegalArgumentException("speculation '" + name + "' is not available on this server (available: none"
                    + (methods.isEmpty() ? "" : ", " + String.join(", ", methods.keySet())) + ")");
        }
        return m;
    }
}
