package io.stride.core.diffusion;

import io.stride.core.SharedData;
import io.stride.core.engine.EngineBuilder;
import io.stride.core.model.Model;
import io.stride.core.parallel.WorkerPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The decoder's speed-ups, its block listener, its bad-input errors and the Learn2PD filter's file round trip. */
class DiffusionDecoderTest {
    static final String PROMPT = "    /**\n     * Returns the number of elements in this list.\n     */\n    public int size() {\n";
    private static WorkerPool pool;
    private static Model model;
    private static DiffusionDecoder decoder;
    private static int[] prompt;

    @BeforeAll
    static void load() {
        pool = new WorkerPool(2);
        model = Model.open(SharedData.model("javatiny-dllm-26m-f16.gguf"));
        decoder = new DiffusionDecoder(model, pool, 160);
        prompt = model.tokenizer().encode(PROMPT, true, true);
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
        if (pool != null) pool.close();
    }

    static DiffusionParams base(int n) {
        return DiffusionParams.baseline(n);
    }

    @Test
    void mersenneTwisterIsStdMt19937() {
        Mt19937 mt = new Mt19937(5489);
        int x = 0;
        for (int i = 0; i < 10000; i++) x = mt.next();
        assertThat(Integer.toUnsignedLong(x)).isEqualTo(4123659995L); // the C++ standard's check value
    }

    @Test
    void theBaselineDecodesOneTokenPerStepAndListenersSeeBlocksInOrder() {
        List<int[]> blocks = new ArrayList<>();
        DiffusionResult r = decoder.generate(prompt, base(64), (canvas, from, to) -> {
            blocks.add(new int[]{from, to});
            for (int q = from; q < to; q++) assertThat(canvas[q]).isNotEqualTo(decoder.maskToken());
            return true;
        });
        assertThat(r.forwardPasses()).isEqualTo(64);
        assertThat(r.tokensComputed()).isEqualTo(64L * (prompt.length + 64));
        assertThat(blocks).extracting(b -> b[0]).containsExactly(prompt.length, prompt.length + 32);
        assertThat(blocks.get(1)[1]).isEqualTo(prompt.length + 64);
        assertThat(r.generated()).doesNotContain(decoder.maskToken());
    }

    @Test
    void aListenerCanStopAfterABlock() {
        DiffusionResult r = decoder.generate(prompt, base(64), (canvas, from, to) -> false);
        assertThat(r.forwardPasses()).isEqualTo(32);
        assertThat(r.generated()).contains(decoder.maskToken());
        assertThat(r.answer().length).isLessThanOrEqualTo(32);
    }

    @Test
    void speedUpsTakeFewerPassesOrComputeFewerRows() {
        DiffusionResult baseline = decoder.generate(prompt, base(64), null);
        DiffusionResult threshold = decoder.generate(prompt, base(64).withSpeedups(0.5f, 0, 0, 0, false), null);
        assertThat(threshold.forwardPasses()).isLessThan(baseline.forwardPasses());
        DiffusionResult prophet = decoder.generate(prompt, base(64).withSpeedups(0, 1f, 0, 0, false), null);
        assertThat(prophet.forwardPasses()).isLessThan(baseline.forwardPasses());
        DiffusionResult cached = decoder.generate(prompt, base(64).withSpeedups(0, 0, 4, 0, false), null);
        assertThat(cached.forwardPasses()).isEqualTo(baseline.forwardPasses());
        assertThat(cached.tokensComputed()).isLessThan(baseline.tokensComputed() / 2);
        // refreshing at every step recomputes everything: the cache then changes nothing
        DiffusionResult everyStep = decoder.generate(prompt, base(64).withSpeedups(0, 0, 1, 0, false), null);
        assertThat(everyStep.generated()).containsExactly(baseline.generated());
        DiffusionResult adaptive = decoder.generate(prompt, base(64).withSpeedups(0, 0, 0, 0.3f, false), null);
        assertThat(adaptive.generated()).doesNotContain(decoder.maskToken());
    }

    @Test
    void theEndOfTextRuleFillsEverythingAfterTheFirstEnd() {
        int eos = model.tokenizer().vocabulary().eos();
        DiffusionResult r = decoder.generate(prompt, base(96).withSpeedups(0, 0, 0, 0, true), null);
        int[] g = r.generated();
        int first = -1;
        for (int i = 0; i < g.length && first < 0; i++) if (g[i] == eos) first = i;
        if (first >= 0) {
            assertThat(Arrays.copyOfRange(g, first, g.length)).containsOnly(eos);
            assertThat(r.stopped()).isTrue();
            assertThat(r.answer()).hasSize(first);
        }
        assertThat(g).doesNotContain(decoder.maskToken());
    }

    @Test
    void aTrainedFilterRoundTripsThroughItsFileAndUnmasksMore(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        FilterTrainer trainer = new FilterTrainer();
        for (String p : List.of(PROMPT, "import java.util.List;\n\npublic final class Names {\n    private final List<String> names;\n")) {
            DiffusionResult r = decoder.generate(model.tokenizer().encode(p, true, true), base(32), null, trainer);
            trainer.finish(r.canvas());
        }
        assertThat(trainer.samples()).isEqualTo(2 * 528); // 32 + 31 + ... + 1 masked positions sampled per prompt
        FinalityFilter f = trainer.fit(0.5, 1e-3);
        Path file = dir.resolve("filter.json");
        f.save(file, null);
        FinalityFilter back = FinalityFilter.load(file);
        assertThat(back.weights()).containsExactly(f.weights());
        assertThat(back.bias()).isEqualTo(f.bias());
        DiffusionResult filtered = decoder.generate(prompt, base(64).withFilter(back), null);
        assertThat(filtered.forwardPasses()).isLessThan(64);

        Files.writeString(file, "{\"format\":\"something else\"}");
        assertThatThrownBy(() -> FinalityFilter.load(file)).hasMessageContaining("filter.json").hasMessageContaining("stride-learn2pd-filter");
    }

    @Test
    void badInputIsAnErrorNamingIt() {
        assertThatThrownBy(() -> decoder.generate(prompt, base(200), null)).hasMessageContaining("more than the 160");
        assertThatThrownBy(() -> decoder.generate(new int[0], base(8), null)).hasMessageContaining("empty");
        assertThatThrownBy(() -> decoder.generate(new int[]{0, 99999}, base(8), null)).hasMessageContaining("outside the vocabulary");
        assertThatThrownBy(() -> base(64).withSteps(63)).hasMessageContaining("--diffusion-steps 63 must be a multiple of the number of blocks 2");
        assertThatThrownBy(() -> new DiffusionOptions(32, 0, Remasking.CONFIDENCE, 5, 0, 0, 0, 0, false, null))
                .hasMessageContaining("must divide the block length");
        assertThatThrownBy(() -> Remasking.parse("lowest", "--diffusion-algorithm")).hasMessageContaining("--diffusion-algorithm");
        assertThatThrownBy(() -> new DiffusionOptions(32, 0, Remasking.ORIGIN, 1, 0.9f, 0, 0, 0, false, null))
                .hasMessageContaining("--diffusion-threshold needs a scoring rule");
        try (Model ar = Model.open(SharedData.model("javatiny-26m-f16.gguf"))) {
            assertThatThrownBy(() -> new DiffusionDecoder(ar, pool, 64)).hasMessageContaining("not a diffusion model");
            assertThatThrownBy(() -> EngineBuilder.of(ar, pool).diffusion(DiffusionOptions.BASELINE)).hasMessageContaining("autoregressive");
        }
        assertThatThrownBy(() -> EngineBuilder.of(model, pool).sparseAttention(io.stride.core.sparse.SparseAttention.parse("tidal")).build())
                .hasMessageContaining("does not apply to a diffusion model");
        assertThatThrownBy(() -> new io.stride.core.tools.Benchmark(model, pool, io.stride.core.kv.KvCacheConfig.DEFAULT, null))
                .hasMessageContaining("diffusion model");
    }
}
