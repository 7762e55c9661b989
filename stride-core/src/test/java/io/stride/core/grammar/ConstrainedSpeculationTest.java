package io.stride.core.grammar;

import io.stride.core.SharedData;
import io.stride.core.engine.EngineBuilder;
import io.stride.core.engine.GenerationParams;
import io.stride.core.engine.GenerationResult;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.engine.SpeculationConfig;
import io.stride.core.model.Model;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.sampling.SamplingParams;
import io.stride.core.spec.DraftMethod;
import io.stride.core.spec.DraftMethods;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Speculative decoding under a grammar (javatiny, SuffixDecoding and n-gram drafts over a prompt full of examples):
 * drafts are cut to the grammar and verified with its masks, so greedy output equals constrained decoding without
 * drafts, token for token, with and without jump-forward, and drafted tokens are accepted.
 */
class ConstrainedSpeculationTest {
    static final String GBNF = """
            root ::= "{\\"name\\": \\"" [A-Z] [a-z]{1,8} "\\", \\"methods\\": " [1-9] [0-9]? ", \\"fields\\": [" field (", " field){0,3} "]}"
            field ::= "\\"" [a-z]{1,10} "\\""
            """;
    static final Pattern SHAPE = Pattern.compile("\\{\"name\": \"[A-Z][a-z]{1,8}\", \"methods\": [1-9][0-9]?, \"fields\": \\[\"[a-z]+\"(, \"[a-z]+\"){0,3}]}");

    @Test
    void constrainedSpeculationIsLossless() throws Exception {
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf")); WorkerPool pool = new WorkerPool(2)) {
            TokenGrammar g = TokenGrammar.of(GBNF, m.tokenizer());
            int[] prompt = m.tokenizer().encode("""
                    // classes of the project as JSON
                    {"name": "User", "methods": 4, "fields": ["name", "email", "password"]}
                    {"name": "Order", "methods": 7, "fields": ["user", "items", "total"]}
                    {"name": "Item", "methods": 3, "fields": ["name", "price"]}
                    {"name": "Cart", "methods": 5, "fields": ["user", "items", "total"]}
                    """);
            GenerationParams params = new GenerationParams(96, SamplingParams.GREEDY, List.of(), g);
            for (boolean jump : new boolean[] {false, true}) {
                GenerationResult plain;
                try (InferenceEngine e = EngineBuilder.of(m, pool).maxSequences(2).jumpForward(jump).build()) {
                    plain = e.generate(prompt, params, null, t -> { });
                }
                assertThat(plain.text()).matches(SHAPE);
                for (String spec : List.of("suffix", "ngram")) {
                    try (DraftMethod method = DraftMethods.create(spec, m, pool, 2048, 2);
                         InferenceEngine e = EngineBuilder.of(m, pool).maxSequences(2).jumpForward(jump)
                                 .speculation(new SpeculationConfig(Map.of(method.name(), method), method.name(), 8, false)).build()) {
                        GenerationResult s = e.generate(prompt, params, null, t -> { });
                        assertThat(s.tokens()).as("%s, jump-forward %s", spec, jump).isEqualTo(plain.tokens());
                        assertThat(s.speculation().drafted()).as("%s drafted", spec).isPositive();
                        assertThat(s.speculation().accepted()).isPositive();
                        assertThat(s.speculation().steps()).as("forward passes").isLessThan(plain.speculation().steps());
                        System.out.printf("%s, jump-forward %s: %d tokens in %d passes (without drafts: %d)%n", spec, jump,
                                s.tokens().length, s.speculation().steps(), plain.speculation().steps());
                        // sampled: every output still follows the grammar
                        GenerationResult sampled = e.generate(prompt, new GenerationParams(96,
                                new SamplingParams(0.8f, 40, 0.95f, 0f, 1f, 64, 0f, 0f, Map.of(), 11), List.of(), g), null, t -> { });
                        assertThat(sampled.text()).matches(SHAPE);
                    }
                }
            }
        }
    }
}
