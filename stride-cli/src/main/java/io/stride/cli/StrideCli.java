package io.stride.cli;

import io.stride.core.gguf.GgufException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/** The {@code stride} command: subcommands for generation, tokenization, perplexity and model inspection. */
@Command(name = "stride", mixinStandardHelpOptions = true, version = "stride 0.1.0",
        description = "Stride: a pure-Java LLM inference engine for GGUF models.",
        subcommands = {GenerateCommand.class, TokenizeCommand.class, PerplexityCommand.class, InfoCommand.class,
                BenchCommand.class, MembwCommand.class, SynthCommand.class, QuantizeCommand.class, ServeCommand.class, BenchServeCommand.class, BenchSpecCommand.class,
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
