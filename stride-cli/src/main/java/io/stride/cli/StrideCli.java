package io.stride.cli;

import io.stride.core.gguf.GgufException;
import picocli.CommandLine.Command;
import picocli.CommandLine;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The {@code stride} command: subcommands for generation, tokenization, perplexity and model inspection. */
@Command(name = "stride", mixinStandardHelpOptions = true, version = "stride 0.1.0",
        description = "Stride: a pure-Java LLM inference engine for GGUF models.",
        subcommands = {GenerateCommand.class, TokenizeCommand.class, PerplexityCommand.class, InfoCommand.class,
                BenchCommand.class, MembwCommand.class, SynthCommand.class, QuantizeCommand.class, ServeCommand.class, BenchServeCommand.class, BenchSpecCommand.class, BenchDiffusionCommand.class, TrainFilterCommand.class, PullCommand.class,
                CommandLine.HelpCommand.class})
public final class StrideCli implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    /** Builds the command line with Stride's error handling: clear one-line errors, stack traces only with --verbose. */
    public static CommandLine commandLine(PrintStream out, PrintStream err) {
        CommandLine cl = new CommandLine(new StrideCli());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.setParameterExceptionHandler(StrideCli::badArguments);
        cl.setExecutionExceptionHandler((ex, line, parse) -> {
            boolean verbose = parse.subcommand() != null && parse.subcommand().hasMatchedOption("--verbose");
            line.getErr().println("error: " + message(ex));
            if (verbose) {
                ex.printStackTrace(line.getErr());
            }
            line.getErr().flush();
            return ex instanceof GgufException ? 3 : 1;
        });
        return cl;
    }

    /**
     * A mistyped command line: the error, the nearest options or subcommands when picocli finds some, and where the
     * full help is; not the whole usage, which buries the one line that matters.
     */
    private static int badArguments(CommandLine.ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println("error: " + ex.getMessage());
        if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
            List<String> near = nearest(u.getUnmatched().getFirst(), cmd.getCommandSpec());
            if (!near.isEmpty()) {
                err.println("did you mean: " + String.join(", ", near) + "?");
            }
        }
        err.println("see '" + cmd.getCommandSpec().qualifiedName() + " --help'");
        err.flush();
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }

    /** Option or subcommand names within two edits of a mistyped one, nearest first. */
    static List<String> nearest(String typed, CommandLine.Model.CommandSpec spec) {
        List<String> names = new ArrayList<>(spec.subcommands().keySet());
        for (CommandLine.Model.OptionSpec o : spec.options()) {
            names.addAll(List.of(o.names()));
        }
        String key = typed.contains("=") ? typed.substring(0, typed.indexOf('=')) : typed;
        return names.stream().filter(n -> n.length() > 2 || key.length() <= 3).filter(n -> editDistance(key, n) <= 2)
                .sorted(java.util.Comparator.comparingInt((String n) -> editDistance(key, n)).thenComparing(n -> n)).distinct().limit(3).toList();
    }

    /** Levenshtein distance, counting a swap of neighbours as one edit. */
    static int editDistance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) d[i][0] = i;
        for (int j = 0; j <= b.length(); j++) d[0][j] = j;
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    static String message(Throwable ex) {
        if (ex instanceof GgufException || ex instanceof IllegalArgumentException || ex instanceof IllegalStateException) {
            return ex.getMessage();
        }
        if (ex instanceof java.io.IOException) {
            return "I/O error: " + ex.getMessage();
        }
        if (ex instanceof OutOfMemoryError) {
            return "out of memory (raise -Xmx with STRIDE_JAVA_OPTS or reduce --ctx): " + ex.getMessage();
        }
        return ex.toString();
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.err), true, StandardCharsets.UTF_8);
        int code = commandLine(out, err).execute(args);
        out.flush();
        System.exit(code);
    }
}
