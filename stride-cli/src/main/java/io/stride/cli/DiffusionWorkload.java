package io.stride.cli;

import io.stride.core.model.Model;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The prompts that bench-diffusion and train-filter decode: rows of one kind, each cut to its last whole lines. */
final class DiffusionWorkload {
    @Option(names = "--workload", required = true, description = "Prompt set (java-dev.jsonl format).")
    Path workload;
    @Option(names = "--kind", defaultValue = "complete", description = "Rows of this kind (default ${DEFAULT-VALUE}).")
    String kind;
    @Option(names = {"-n", "--n-predict"}, defaultValue = "64", description = "Answer positions per prompt (default ${DEFAULT-VALUE}).")
    int nPredict;
    @Option(names = "--prompt-tokens", defaultValue = "192", description = "Keep the last whole lines of each prompt within this many tokens (default ${DEFAULT-VALUE}).")
    int promptTokens;

    /** The token ids of rows {@code skip .. skip+limit} of the kind, each its last lines within --prompt-tokens. */
    List<int[]> prompts(Model m, int skip, int limit) throws IOException {
        if (nPredict < 1 || promptTokens < 1 || limit < 1 || skip < 0) {
            throw new IllegalArgumentException("-n, --prompt-tokens and --limit must be >= 1, --skip >= 0");
        }
        var rows = WorkloadFile.read(workload).rows().stream().filter(r -> r.kind().equals(kind)).skip(skip).limit(limit).toList();
        if (rows.isEmpty()) throw new IllegalArgumentException("no '" + kind + "' rows after skipping " + skip + " in " + workload);
        List<int[]> out = new ArrayList<>();
        for (var r : rows) out.add(tail(m, r.prompt(), promptTokens));
        return out;
    }

    /** The prompt's last whole lines within {@code max} tokens (BOS included), at least its last line's tail. */
    static int[] tail(Model m, String prompt, int max) {
        String[] lines = prompt.split("\n", -1);
        int[] best = null;
        for (int k = 1; k <= lines.length; k++) {
            int[] ids = m.tokenizer().encode(String.join("\n", Arrays.copyOfRange(lines, lines.length - k, lines.length)), true, true);
            if (ids.length > max) break;
            best = ids;
        }
        if (best == null) {
            int[] ids = m.tokenizer().encode(lines[lines.length - 1], true, true);
            best = Arrays.copyOfRange(ids, ids.length - max, ids.length);
            best[0] = ids[0];
        }
        return best;
    }
}
