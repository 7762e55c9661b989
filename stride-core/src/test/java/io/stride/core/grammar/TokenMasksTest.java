package io.stride.core.grammar;

import io.stride.core.SharedData;
import io.stride.core.model.Model;
import io.stride.core.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The precomputed masks ({@link TokenMasks}, {@link GrammarMatcher#fillMask}) equal the brute-force answer (every
 * token's bytes run through the full parse state) at every step of random walks through real grammars, with the
 * javatiny vocabulary (byte-level BPE, 8192 tokens).
 */
class TokenMasksTest {
    static final String JSON_GBNF = JsonSchemaGrammar.anyObject();

    @Test
    void masksEqualBruteForceAlongRandomWalks() throws IOException {
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf"))) {
            Tokenizer t = m.tokenizer();
            String[] grammars = {
                    JSON_GBNF,
                    "root ::= \"class \" [A-Z] [a-zA-Z0-9]{0,12} \" {\" ([ \\n] | \"int \" [a-z]+ \";\")* \"}\"",
                    "root ::= ([^\"\\n]* \"\\n\"){1,3}",
                    "root ::= (\"yes\" | \"no\" | \"maybe not\") \".\"",
            };
            SplittableRandom random = new SplittableRandom(7);
            for (String gbnf : grammars) {
                TokenGrammar g = TokenGrammar.of(gbnf, t);
                for (int walk = 0; walk < 4; walk++) {
                    GrammarMatcher matcher = g.matcher();
                    long[] mask = new long[(g.vocab() + 63) / 64];
                    for (int step = 0; step < 40; step++) {
                        matcher.fillMask(mask);
                        List<Integer> allowed = new ArrayList<>();
                        for (int id = 0; id < g.vocab(); id++) {
                            boolean brute = matcher.allows(id);
                            boolean masked = (mask[id >>> 6] >>> id & 1L) != 0;
                            assertThat(masked).as("token %d (%s) at step %d of %s", id, t.vocabulary().token(id), step, gbnf).isEqualTo(brute);
                            if (brute) allowed.add(id);
                        }
                        assertThat(allowed).as("a live grammar always allows something").isNotEmpty();
                        if (matcher.mustEnd()) break;
                        int pick = allowed.get(random.nextInt(allowed.size()));
                        if (t.vocabulary().isEndOfGeneration(pick)) break;
                        assertThat(matcher.accept(pick)).isTrue();
                    }
                }
            }
        }
    }

    @Test
    void endOfGenerationOnlyWhenComplete() throws IOException {
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf"))) {
            Tokenizer t = m.tokenizer();
            TokenGrammar g = TokenGrammar.of("root ::= \"ab\"", t);
            GrammarMatcher matcher = g.matcher();
            int eos = t.vocabulary().eos();
            assertThat(matcher.allows(eos)).isFalse();
            for (int id : t.encode("ab", false, false)) assertThat(matcher.accept(id)).isTrue();
            assertThat(matcher.allows(eos)).isTrue();
            assertThat(matcher.mustEnd()).isTrue();
        }
    }
}
