package io.stride.core;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates {@code ../shared} (models and reference outputs): {@code STRIDE_SHARED} if set, else beside the
 * project root. Missing data fails the test when {@code CI=true} and skips it otherwise.
 */
public final class SharedData {
    private SharedData() {}

    public static Path root() {
        String env = System.getenv("STRIDE_SHARED");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        String projectRoot = System.getenv("STRIDE_ROOT");
        if (projectRoot != null && !projectRoot.isBlank()) {
            return Path.of(projectRoot).toAbsolutePath().getParent().resolve("shared");
        }
        Path cwd = Path.of("").toAbsolutePath();
        for (Path p = cwd; p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("shared/models")) && !p.equals(cwd.getRoot())) {
                return p.resolve("shared");
            }
            if (p.getParent() != null && Files.isDirectory(p.getParent().resolve("shared/models"))) {
                return p.getParent().resolve("shared");
            }
        }
        return cwd.resolve("../shared").normalize();
    }

    /** A file under shared/, failing (CI) or skipping (locally) when it is missing. */
    public static Path require(String relative) {
        Path p = root().resolve(relative);
        if (!Files.exists(p)) {
            String msg = "shared data missing: " + p + " (set STRIDE_SHARED to the shared/ folder)";
            if ("true".equals(System.getenv("CI"))) {
                Assertions.fail(msg);
            }
            Assumptions.abort(msg);
        }
        return p;
    }

    public static Path model(String name) {
        return require("models/" + name);
    }
}
