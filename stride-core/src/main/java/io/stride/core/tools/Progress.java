package io.stride.core.tools;


/** Told how far a long operation (loading, quantizing, scoring) has come: {@code done} of {@code total} units. */
@FunctionalInterface
public interface Progress {
    Progress NONE = (done, total) -> {};

    void update(long done, long total);
}
