package io.stride.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.grammar.GrammarMatcher;
import io.stride.core.grammar.Grammars;
import io.stride.core.grammar.TokenGrammar;
import io.stride.core.model.Model;
import io.stride.core.sampling.Sampler;
import io.stride.core.sampling.SamplingParams;
import io.stride.core.tokenizer.Tokenizer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The per-step cost of a grammar: the allowed-token mask of a JSON Schema grammar ({@code fillMask}) and sampling
 * with it, against sampling without, at three points of a JSON text (an object's start, inside a string, inside a
 * number). {@code -p model=FILE} picks the vocabulary (javatiny: 8192 tokens; a llama-3.2-1b synth file: 128256).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GrammarMaskBench {
    static final String SCHEMA = """
            {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0},
             "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 8}, "active": {"type": "boolean"}},
             "required": ["name", "age", "tags"]}""";

    @Param({"../shared/models/javatiny-26m-f16.gguf"})
    public String model;
    /** where in the JSON text the state is */
    @Param({"{", "{\"name\": \"Jo", "{\"name\": \"Jo\", \"age\": 4"})
    public String prefix;

    private Model m;
    private GrammarMatcher matcher;
    private long[] mask;
    private float[] logits;
    private Sampler sampler;
    private final int[] history = new int[1];

    @Setup(Level.Trial)
    public void setup() throws Exception {
        m = Model.open(Path.of(model));
        Tokenizer t = m.tokenizer();
        long t0 = System.nanoTime();
        TokenGrammar g = TokenGrammar.of(Grammars.jsonSchema(new ObjectMapper().readTree(SCHEMA)), t);
        System.out.printf("%n# compile %.1f ms for %d tokens%n", (System.nanoTime() - t0) / 1e6, g.vocab());
        matcher = g.matcher();
        for (int id : t.encode(prefix, false, false)) {
            if (!matcher.accept(id)) throw new IllegalStateException("prefix not in the grammar at token " + id);
        }
        mask = new long[(g.vocab() + 63) / 64];
        logits = new float[g.vocab()];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < logits.length; i++) logits[i] = (float) r.nextGaussian();
        sampler = new Sampler(new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1f, 64, 0f, 0f, java.util.Map.of(), 1), g.vocab());
    }

    @TearDown
    public void close() {
        m.close();
    }

    /** The mask of a state met for the first time by this request (a fresh copy of the matcher: no reuse). */
    @Benchmark
    public long[] mask() {
        matcher.copy().fillMask(mask);
        return mask;
    }

    /** The mask when the state is the one of the step before (inside a string or a number). */
    @Benchmark
    public long[] maskRepeated() {
        matcher.fillMask(mask);
        return mask;
    }

    @Benchmark
    public int maskAndSample() {
        matcher.copy().fillMask(mask);
        return sampler.sample(logits, 0, history, 0, mask);
    }

    @Benchmark
    public int sampleUnconstrained() {
        return sampler.sample(logits, 0, history, 0, null);
    }
}
