package io.stride.cli;

import io.stride.core.diffusion.DiffusionDecoder;
import io.stride.core.diffusion.DiffusionParams;
import io.stride.core.diffusion.DiffusionResult;
import io.stride.core.model.Model;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.tokenizer.StreamingDecoder;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.util.List;

/** {@code stride generate} on a diffusion model: the answer is printed block by block as each becomes final. */
final class DiffusionGeneration {
    /** Options of {@code generate} that only next-token generation has. */
    static final List<String> AUTOREGRESSIVE_ONLY = List.of("--min-p", "--repeat-penalty", "--repeat-last-n",
            "--frequency-penalty", "--presence-penalty", "--logit-bias", "--stop", "--spec", "--spec-max", "--spec-fixed",
            "--grammar", "--grammar-file", "--json-schema", "--json-schema-file", "--no-jump-forward", "--sparse-attention",
            "--cache-type-k", "--cache-type-v", "--batch", "--ctx");

    private DiffusionGeneration() {}

    /** The first option of {@code names} given on the command line, or null. */
    static String firstGiven(ParseResult parsed, List<String> names) {
        for (String name : names) {
            if (parsed.hasMatchedOption(name)) return name;
        }
        return null;
    }

    static void run(Model model, WorkerPool pool, int[] prompt, String promptText, boolean showPrompt, DiffusionParams p,
                    PrintWriter out, PrintWriter err) {
        DiffusionDecoder decoder = new DiffusionDecoder(model, pool, Math.min(model.config().contextLength(), prompt.length + p.maxTokens()));
        StreamingDecoder text = new StreamingDecoder(model.tokenizer());
        if (showPrompt) {
            out.print(promptText);
            out.flush();
        }
        boolean[] ended = {false};
        DiffusionResult r = decoder.generate(prompt, p, (canvas, from, to) -> {
            for (int q = from; q < to && !ended[0]; q++) {
                if (model.tokenizer().vocabulary().isEndOfGeneration(canvas[q])) {
                    ended[0] = true;
                } else {
                    out.print(text.next(canvas[q]));
                }
            }
            out.flush();
            return true;
        });
        out.print(text.flush());
        out.println();
        out.flush();
        err.printf("diffusion: %d steps, %.1f ms per step, %d forward passes (%.2f per token), %d tokens computed | prompt: %d tokens | "
                        + "answer: %d tokens, %.1f tok/s | finish: %s | threads: %d%n",
                r.steps(), r.steps() == 0 ? 0 : r.nanos() / 1e6 / r.steps(), r.forwardPasses(), r.passesPerToken(), r.tokensComputed(),
                prompt.length, r.answer().length,
                r.tokensPerSecond(), r.stopped() ? "stop" : "length", pool.size());
    }
}
