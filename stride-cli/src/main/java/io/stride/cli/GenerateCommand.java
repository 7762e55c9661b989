package io.stride.cli;

import io.stride.core.engine.EngineBuilder;
import io.stride.core.engine.GenerationParams;
import io.stride.core.engine.GenerationResult;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.engine.SpeculationConfig;
import io.stride.core.grammar.Grammars;
import io.stride.core.grammar.TokenGrammar;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.sampling.SamplingParams;
import io.stride.core.spec.DraftMethod;
import io.stride.core.spec.DraftMethods;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "generate", description = "Generate text from a prompt; the text streams to stdout, timings go to stderr.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    @Option(names = {"-m", "--model"}, description = "GGUF model file (or -hf).")
    Path model;
    @Option(names = {"-hf", "--hf-repo"}, paramLabel = "OWNER/NAME[:QUANT]", description = "Fetch the model from Hugging Face (cached; see 'stride pull').")
    String hfRepo;
    @Option(names = {"-p", "--prompt"}, description = "Prompt text.")
    String prompt;
    @Option(names = {"-f", "--file"}, description = "Read the prompt from a file.")
    Path promptFile;
    @Option(names = {"-n", "--n-predict"}, defaultValue = "128", description = "Tokens to generate (default ${DEFAULT-VALUE}).")
    int nPredict;
    @Option(names = "--temp", defaultValue = "0.8", description = "Temperature; 0 = greedy (default ${DEFAULT-VALUE}).")
    float temperature;
    @Option(names = "--top-k", defaultValue = "40", description = "Top-k, 0 = off (default ${DEFAULT-VALUE}).")
    int topK;
    @Option(names = "--top-p", defaultValue = "0.95", description = "Top-p, 1 = off (default ${DEFAULT-VALUE}).")
    float topP;
    @Option(names = "--min-p", defaultValue = "0.05", description = "Min-p, 0 = off (default ${DEFAULT-VALUE}).")
    float minP;
    @Option(names = "--repeat-penalty", defaultValue = "1.0", description = "Repetition penalty, 1 = off (default ${DEFAULT-VALUE}).")
    float repeatPenalty;
    @Option(names = "--repeat-last-n", defaultValue = "64", description = "Tokens the penalties look back at (default ${DEFAULT-VALUE}).")
    int repeatLastN;
    @Option(names = "--frequency-penalty", defaultValue = "0", description = "Frequency penalty (default ${DEFAULT-VALUE}).")
    float frequencyPenalty;
    @Option(names = "--presence-penalty", defaultValue = "0", description = "Presence penalty (default ${DEFAULT-VALUE}).")
    float presencePenalty;
    @Option(names = "--logit-bias", description = "TOKEN_ID=BIAS, repeatable.")
    List<String> logitBias = new ArrayList<>();
    @Option(names = "--stop", description = "Stop string (not printed), repeatable.")
    List<String> stop = new ArrayList<>();
    @Option(names = "--seed", defaultValue = "-1", description = "Random seed, -1 = random (default ${DEFAULT-VALUE}).")
    long seed;
    @Mixin
    LoadFlags load;
    @Mixin
    KvFlags kv;
    @Mixin
    SparseFlags sparse;
    @Mixin
    DiffusionFlags diffusion;
    @Option(names = {"-c", "--ctx"}, defaultValue = "0", description = "Context length (default: the model's, at most 4096).")
    int ctx;
    @Option(names = {"-b", "--batch"}, defaultValue = "512", description = "Prompt tokens per forward pass (default ${DEFAULT-VALUE}).")
    int batch;
    @Option(names = "--no-bos", description = "Do not add the BOS token.")
    boolean noBos;
    @Option(names = "--no-display-prompt", description = "Print only the generated text, not the prompt before it.")
    boolean noDisplayPrompt;
    @Option(names = "--spec", description = "Speculative decoding drafter: " + DraftMethods.HELP + ".")
    String specName;
    @Option(names = "--spec-max", defaultValue = "16", description = "Most drafted tokens per verify step (default ${DEFAULT-VALUE}).")
    int specMax;
    @Option(names = "--spec-fixed", description = "Always draft --spec-max tokens (no adaptive draft length).")
    boolean specFixed;

    @Option(names = "--grammar", paramLabel = "GBNF", description = "Constrain the output to this GBNF grammar (llama.cpp's format).")
    String grammar;

    @Option(names = "--grammar-file", paramLabel = "FILE", description = "Constrain the output to the GBNF grammar in FILE.")
    Path grammarFile;

    @Option(names = "--no-jump-forward", description = "Sample every token of constrained output, also the text its grammar forces.")
    boolean noJumpForward;

    @Option(names = {"-j", "--json-schema"}, paramLabel = "SCHEMA", description = "Constrain the output to JSON valid under this JSON Schema.")
    String jsonSchema;

    @Option(names = {"-jf", "--json-schema-file"}, paramLabel = "FILE", description = "Constrain the output to JSON valid under the JSON Schema in FILE.")
    Path jsonSchemaFile;

    /** The GBNF of --grammar, --grammar-file, --json-schema or --json-schema-file (at most one), or null. */
    private String grammarSource() throws java.io.IOException {
        int given = (grammar != null ? 1 : 0) + (grammarFile != null ? 1 : 0) + (jsonSchema != null ? 1 : 0) + (jsonSchemaFile != null ? 1 : 0);
        if (given > 1) throw new IllegalArgumentException("give at most one of --grammar, --grammar-file, --json-schema and --json-schema-file");
        if (grammar != null) return grammar;
        if (grammarFile != null) return Files.readString(grammarFile);
        if (jsonSchema == null && jsonSchemaFile == null) return null;
        String json = jsonSchema != null ? jsonSchema : Files.readString(jsonSchemaFile);
        return Grammars.jsonSchema(new com.fasterxml.jackson.databind.ObjectMapper().readTree(json));
    }

    @Override
    public Integer call() throws Exception {
        model = PullCommand.modelPath(spec, model, hfRepo);
        if ((prompt == null) == (promptFile == null)) {
            throw new IllegalArgumentException("give exactly one of -p PROMPT or -f FILE");
        }
        String text = prompt != null ? prompt : Files.readString(promptFile);
        if (nPredict < 0) {
            throw new IllegalArgumentException("-n must be >= 0, got " + nPredict);
        }
        SamplingParams sampling = new SamplingParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN,
                frequencyPenalty, presencePenalty, parseBias(logitBias), seed);
        if (batch < 1) throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
        String gbnf = grammarSource();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        kv.config(); // the cache types, checked before the model loads
        var sparseMode = sparse.mode();
        try (ModelSession s = new ModelSession(model, load.options(), err)) {
            var parsed = spec.commandLine().getParseResult();
            if (s.model.isDiffusion()) {
                String given = DiffusionGeneration.firstGiven(parsed, DiffusionGeneration.AUTOREGRESSIVE_ONLY);
                if (given != null) {
                    throw new IllegalArgumentException(given + " does not apply to a diffusion model (" + model.getFileName() + ")");
                }
                long diffusionSeed = seed == -1 ? new java.util.Random().nextInt() & 0xffffffffL : seed;
                var p = diffusion.params(nPredict, temperature, topK, topP, diffusionSeed);
                DiffusionGeneration.run(s.model, s.pool, s.model.tokenizer().encode(text, !noBos, true), text, !noDisplayPrompt,
                        p, out, err);
                return 0;
            }
            DiffusionFlags.rejectFor(parsed, model);
            int vocab = s.model.config().vocab();
            for (int id : sampling.logitBias().keySet()) {
                if (id < 0 || id >= vocab) {
                    throw new IllegalArgumentException("--logit-bias token id " + id + " is outside the vocabulary [0, " + vocab + ")");
                }
            }
            GenerationParams params = new GenerationParams(nPredict, sampling, stop,
                    gbnf == null ? null : TokenGrammar.of(gbnf, s.model.tokenizer()));
            int[] ids = s.model.tokenizer().encode(text, !noBos, true);
            EngineBuilder b = EngineBuilder.of(s.model, s.pool).kvCache(kv.config()).context(ctx).maxSequences(1).maxQueue(1).maxBatchTokens(batch)
                    .prefixCaching(false).jumpForward(!noJumpForward).sparseAttention(sparseMode);
            Map<String, DraftMethod> methods = new LinkedHashMap<>();
            if (specName != null) {
                DraftMethod method = DraftMethods.create(specName, s.model, s.pool, b.context(), 1);
                methods.put(method.name(), method);
                b.speculation(new SpeculationConfig(methods, method.name(), specMax, !specFixed));
            }
            // the prompt is shown (as llama.cpp does) once generation has begun, so a refused prompt prints only the error
            boolean[] shown = {noDisplayPrompt};
            java.util.function.Consumer<String> sink = piece -> {
                if (!shown[0]) {
                    out.print(text);
                    shown[0] = true;
                }
                out.print(piece);
                out.flush();
            };
            GenerationResult r;
            try (InferenceEngine engine = b.build()) {
                r = engine.generate(ids, params, null, sink);
            } finally {
                methods.values().forEach(DraftMethod::close);
            }
            if (!shown[0]) {
                out.print(text);
            }
            out.println();
            out.flush();
            if (gbnf != null) {
                var st = r.speculation();
                err.printf("grammar: %d sampled steps, %d tokens jumped forward (%.2f tokens per step)%n", st.steps(), st.accepted(),
                        st.steps() == 0 ? 0 : (st.steps() + st.accepted()) / (double) st.steps());
            } else if (specName != null) {
                var st = r.speculation();
                err.printf("speculation: %d verify steps, %d drafted, %d accepted (%.2f per step)%n", st.steps(), st.drafted(), st.accepted(),
                        st.acceptedPerStep());
            }
            err.printf("prompt: %d tokens, %.1f tok/s | generated: %d tokens, %.1f tok/s | finish: %s | threads: %d%n",
                    r.promptTokens(), r.promptTokensPerSecond(), r.tokens().length, r.decodeTokensPerSecond(),
                    r.finishReason().apiName(), s.pool.size());
        }
        return 0;
    }

    static Map<Integer, Float> parseBias(List<String> items) {
        Map<Integer, Float> bias = new HashMap<>();
        for (String item : items) {
            int eq = item.indexOf('=');
            try {
                if (eq < 0) throw new NumberFormatException();
                bias.put(Integer.parseInt(item.substring(0, eq).trim()), Float.parseFloat(item.substring(eq + 1).trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--logit-bias expects TOKEN_ID=BIAS, got '" + item + "'");
            }
        }
        return bias;
    }
}
