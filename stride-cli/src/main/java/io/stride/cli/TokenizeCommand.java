package io.stride.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.model.Model;
import io.stride.core.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "tokenize", description = "Tokenize text from -p or stdin (taken literally).")
final class TokenizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    @Option(names = {"-m", "--model"}, required = true, description = "GGUF model file.")
    Path model;
    @Option(names = {"-p", "--prompt"}, description = "Text to tokenize (default: read stdin).")
    String prompt;
    @Option(names = "--no-bos", description = "Do not add BOS/EOS tokens.")
    boolean noBos;
    @Option(names = "--ids", description = "Print only a JSON array of token ids.")
    boolean ids;
    @Option(names = "--no-parse-special", description = "Treat special-token text as plain text.")
    boolean noParseSpecial;

    @Override
    public Integer call() throws Exception {
        String text = prompt != null ? prompt : new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
        PrintWriter out = spec.commandLine().getOut();
        try (Model m = Model.open(model)) {
            Tokenizer t = m.tokenizer();
            int[] tokens = t.encode(text, !noBos, !noParseSpecial);
            if (ids) {
                out.println(new ObjectMapper().writeValueAsString(tokens));
            } else {
                for (int id : tokens) {
                    out.printf("%6d -> '%s'%n", id, new String(t.tokenBytes(id), StandardCharsets.UTF_8).isEmpty()
                            ? t.vocabulary().token(id) : new String(t.tokenBytes(id), StandardCharsets.UTF_8));
                }
            }
            out.flush();
        }
        return 0;
    }
}
