package io.stride.core.spec;

import io.stride.core.ChiSquare;
import io.stride.core.SharedData;
import io.stride.core.engine.FinishReason;
import io.stride.core.engine.GenerationParams;
import io.stride.core.engine.GenerationResult;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.engine.SpeculationConfig;
import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.parallel.WorkerPool;
import io.stride.core.sampling.Sampler;
import io.stride.core.sampling.SamplingParams;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Under sampling, speculation leaves the distribution of generated text unchanged: 20,000 seeded samples of
 * the first 3 tokens after a fixed context (stories260K, temperature 1) against the exact probabilities the
 * model assigns to them, chi-square p > 0.01. The draft model is stories260K itself sampling at 1.6x the
 * temperature, so its proposals differ from the target and rejections happen.
 */
@Tag("slow")
class SpeculativeSamplingTest {
    static final int SAMPLES = 20_000;

    @ParameterizedTest
    @ValueSource(strings = {"suffix", "draft"})
    void firstThreeTokensFollowTheTargetDistribution(String kind) throws Exception {
        try (Model m = Model.open(SharedData.model("stories260K.gguf")); WorkerPool pool = new WorkerPool(1)) {
            Transformer tf = new Transformer(m, pool);
            int ctx = 64;
            DraftMethod method = kind.equals("suffix") ? new SuffixMethod()
                    : new DraftModelMethod(SharedData.model("stories260K.gguf"), m, pool, ctx, 1, 1.6f);
            InferenceEngine gen = SpeculativeLosslessTest.engine(m, pool, ctx, new SpeculationConfig(Map.of(method.name(), method),
                    method.name(), 4, false));
            int[] prompt = m.tokenizer().encode("Once upon a time, there was a little girl");
            Map<List<Integer>, Long> counts = new HashMap<>();
            long accepted = 0, drafted = 0;
            for (int i = 0; i < SAMPLES; i++) {
                SamplingParams sp = new SamplingParams(1f, 0, 1f, 0f, 1f, 64, 0f, 0f, Map.of(), 1000 + i);
                GenerationResult r = gen.generate(prompt, new GenerationParams(3, sp, List.of()), null, t -> { });
                List<Integer> key = new ArrayList<>();
                for (int t : r.tokens()) key.add(t);
                if (r.finishReason() == FinishReason.STOP) key.add(-1);
                counts.merge(key, 1L, Long::sum);
                accepted += r.speculation().accepted();
                drafted += r.speculation().drafted();
            }
            gen.close();
            method.close();
            assertThat(drafted).isPositive();
            assertThat(accepted).as("some drafts accepted").isPositive();
            assertThat(accepted).as("some drafts rejected").isLessThan(drafted);
            // exact probabilities of each observed outcome
            ExactProbabilities exact = new ExactProbabilities(m, tf, prompt);
            List<Long> obs = new ArrayList<>();
            List<Double> exp = new ArrayList<>();
            long otherObs = SAMPLES;
            double otherExp = SAMPLES;
            for (Map.Entry<List<Integer>, Long> e : counts.entrySet()) {
                double p = exact.of(e.getKey());
                if (p * SAMPLES >= 5) {
                    obs.add(e.getValue());
                    exp.add(p * SAMPLES);
                    otherObs -= e.getValue();
                    otherExp -= p * SAMPLES;
                }
            }
            obs.add(otherObs);
            exp.add(Math.max(otherExp, 1e-9));
            long[] o = obs.stream().mapToLong(Long::longValue).toArray();
            double[] ex = exp.stream().mapToDouble(Double::doubleValue).toArray();
            double chi = ChiSquare.statistic(o, ex);
            double pv = ChiSquare.pValue(chi, o.length - 1);
            System.out.printf("%s: %d bins, chi-square %.1f, p = %.3f, accepted %d of %d drafted%n", kind, o.length, chi, pv, accepted, drafted);
            assertThat(o.length).isGreaterThan(10);
            assertThat(pv).as("chi-square %.1f with %d df", chi, o.length - 1).isGreaterThan(0.01);
        }
    }

    /** P(outcome) = product of the sampler's next-token probabilities along it (-1 = end of generation). */
    static final class ExactProbabilities {
        final Model m;
        final Transformer tf;
        final int[] prompt;
        final Map<List<Integer>, float[]> cache = new HashMap<>();
        final Sampler sampler;

        ExactProbabilities(Model m, Transformer tf, int[] prompt) {
            this.m = m;
            this.tf = tf;
            this.prompt = prompt;
            this.sampler = new Sampler(new SamplingParams(1f, 0, 1f, 0f, 1f, 64, 0f, 0f, Map.of(), 1), m.config().vocab());
        }

        double of(List<Integer> outcome) {
            double p = 1;
            List<Integer> prefix = new ArrayList<>();
            for (int t : outcome) {
                float[] dist = next(prefix);
                p *= t >= 0 ? dist[t] : dist[m.tokenizer().vocabulary().eos()];
                if (t >= 0) prefix.add(t);
            }
            return p;
        }

        float[] next(List<Integer> prefix) {
            return cache.computeIfAbsent(new ArrayList<>(prefix), k -> {
                int vocab = m.config().vocab();
                int n = prompt.length + k.size();
                int[] toks = new int[n];
                System.arraycopy(prompt, 0, toks, 0, prompt.length);
                for (int i = 0; i < k.size(); i++) toks[prompt.length + i] = k.get(i);
                PagedKvCache c = tf.newCache(16, (n + 15) / 16);
                KvSequence s = c.newSequence();
                c.reserve(s, n);
                Batch b = new Batch();
                for (int i = 0; i < n; i++) b.add(toks[i], i, s, i == n - 1);
                float[] logits = new float[vocab];
                tf.forward(b, c, logits);
                float[] dist = new float[vocab];
                sampler.distribution(logits, 0, toks, n, dist);
                return dist;
            });
        }
    }
}
