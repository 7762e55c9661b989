package io.stride.core.engine;

/** The held-out text of {@link JavatinyPerplexityTest} for tests in other packages. */
public final class JavatinyPerplexityAccess {
    private JavatinyPerplexityAccess() {}

    public static String text() throws java.io.IOException {
        return JavatinyPerplexityTest.perplexityText();
    }
}
