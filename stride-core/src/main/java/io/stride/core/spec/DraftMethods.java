package io.stride.core.spec;

import io.stride.core.model.Model;
import io.stride.core.parallel.WorkerPool;

import java.nio.file.Files;
import java.nio.file.Path;

/** Parses a drafter specification: {@code ngram}, {@code suffix}, {@code ngram-online}, {@code draft:PATH}, {@code medusa:PATH}. */
public final class DraftMethods {
    public static final String HELP = "ngram, suffix, ngram-online, draft:MODEL.gguf or medusa:HEADS.gguf";

    private DraftMethods() {
    }

    /**
     * @param maxSequences requests that may draft at once (draft models keep a KV cache for each)
     */
    public static DraftMethod create(String spec, Model target, WorkerPool pool, int contextLength, int maxSequences) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("empty drafter; use one of " + HELP);
        }
        int colon = spec.indexOf(':');
        String kind = colon < 0 ? spec : spec.substring(0, colon);
        String arg = colon < 0 ? null : spec.substring(colon + 1);
        return switch (kind) {
            case "ngram" -> noArg(kind, arg, new NgramMethod(1, 4));
            case "suffix" -> noArg(kind, arg, new SuffixMethod());
            case "ngram-online" -> noArg(kind, arg, new OnlineNgramMethod());
            case "draft" -> new DraftModelMethod(file(kind, arg), target, pool, contextLength, maxSequences);
            case "medusa" -> new MedusaMethod(file(kind, arg), target, pool);
            default -> throw new IllegalArgumentException("unknown drafter '" + spec + "'; use one of " + HELP);
        };
    }

    private static DraftMethod noArg(String kind, String arg, DraftMethod m) {
        if (arg != null) {
            throw new IllegalArgumentException("drafter '" + kind + "' takes no argument");
        }
        return m;
    }

    private static Path file(String kind, String arg) {
        if (arg == null || arg.isBlank()) {
            throw new IllegalArgumentException("drafter '" + kind + "' needs a file: " + kind + ":PATH");
        }
        Path p = Path.of(arg);
        if (!Files.isRegularFile(p)) {
            throw new IllegalArgumentException("drafter file not found: " + p);
        }
        return p;
    }
}
