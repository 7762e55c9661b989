package io.stride.core.grammar;

import io.stride.core.SharedData;
import io.stride.core.engine.EngineBuilder;
import io.stride.core.engine.GenerationParams;
import io.stride.core.engine.GenerationResult;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.model.Model;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.sampling.SamplingParams;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Jump-forward on javatiny: a grammar with long fixed keys gives the same kind of output with and without it (every
 * output in the grammar), fewer sampling passes with it, and the same output alone or batched with other requests.
 */
class JumpForwardTest {
    static final String GBNF = """
            root ::= "{\\"the_name_of_the_class\\": \\"" [A-Z] [a-z]{1,8} "\\", \\"number_of_public_methods\\": " [1-9] [0-9]? "}"
            """;
    static final Pattern SHAPE = Pattern.compile("\\{\"the_name_of_the_class\": \"[A-Z][a-z]{1,8}\", \"number_of_public_methods\": [1-9][0-9]?}");

    @Test
    void forcedTextIsAppendedWithoutSampling() throws Exception {
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf")); WorkerPool pool = new WorkerPool(2)) {
            TokenGrammar g = TokenGrammar.of(GBNF, m.tokenizer());
            int[] prompt = m.tokenizer().encode("// describe the class\n");
            GenerationParams params = new GenerationParams(96, SamplingParams.GREEDY, List.of(), g);
            GenerationResult plain;
            try (InferenceEngine e = EngineBuilder.of(m, pool).maxSequences(4).jumpForward(false).build()) {
                plain = e.generate(prompt, params, null, t -> { });
            }
            try (InferenceEngine e = EngineBuilder.of(m, pool).maxSequences(4).build()) {
                GenerationResult jump = e.generate(prompt, params, null, t -> { });
                assertThat(plain.text()).matches(SHAPE);
                assertThat(jump.text()).matches(SHAPE);
                assertThat(plain.speculation().accepted()).isZero();
                assertThat(jump.speculation().accepted()).as("forced tokens").isGreaterThanOrEqualTo(10);
                assertThat(jump.speculation().steps()).isLessThan(plain.speculation().steps());
                // the same request batched with others (sampled, constrained or not) gives the same output
                var other = e.submit(new io.stride.core.engine.EngineRequest("o1", m.tokenizer().encode("public class"),
                        new GenerationParams(64, new SamplingParams(0.9f, 40, 0.95f, 0.05f, 1f, 64, 0f, 0f, java.util.Map.of(), 5), List.of()),
                        -1, 0, new NoSink(), null));
                GenerationResult again = e.generate(prompt, params, null, t -> { });
                other.cancel();
                assertThat(again.text()).isEqualTo(jump.text());
            }
        }
    }

    /** A sink that drops everything. */
    static final class NoSink implements io.stride.core.engine.TokenSink {
        @Override
        public void onToken(io.stride.core.engine.TokenEvent e) {}

        @Override
        public void onFinish(io.stride.core.engine.Finished f) {}

        @Override
        public void onError(RuntimeException error) {}
    }
}
