package io.stride.core.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.SharedData;
import io.stride.core.gguf.GgufException;
import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.parallel.WorkerPool;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Medusa heads against the training code's top-8 per head at the last position. */
class MedusaHeadsTest {
    @Test
    void headsMatchTrainingCode() throws Exception {
        JsonNode ref = new ObjectMapper().readTree(SharedData.require("reference/javatiny/logits.json").toFile()).get("target");
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf")); WorkerPool pool = new WorkerPool(2);
             MedusaMethod medusa = new MedusaMethod(SharedData.model("javatiny-26m-medusa-f16.gguf"), m, pool)) {
            Transformer tf = new Transformer(m, pool);
            int cases = 0;
            for (JsonNode c : ref.get("cases")) {
                int[] tokens = new int[c.get("tokens").size()];
                for (int i = 0; i < tokens.length; i++) tokens[i] = c.get("tokens").get(i).asInt();
                PagedKvCache cache = tf.newCache(16, (tokens.length + 15) / 16);
                KvSequence seq = cache.newSequence();
                cache.reserve(seq, tokens.length);
                Batch b = new Batch();
                for (int i = 0; i < tokens.length; i++) b.add(tokens[i], i, seq, i == tokens.length - 1);
                tf.forward(b, cache, new float[m.config().vocab()]);
                float[] h = Arrays.copyOf(tf.lastHidden(), m.config().dim());
                JsonNode heads = c.get("medusa_top_ids");
                assertThat(heads.size()).isEqualTo(medusa.heads().heads());
                for (int k = 0; k < heads.size(); k++) {
                    int[] top = medusa.topIds(h, k, 8);
                    // the top 3 in the same order; the top 8 as a set (near-ties may swap places)
                    for (int j = 0; j < 3; j++) {
                        assertThat(top[j]).as("case %d head %d rank %d", cases, k, j).isEqualTo(heads.get(k).get(j).asInt());
                    }
                    int[] want = new int[8];
                    for (int j = 0; j < 8; j++) want[j] = heads.get(k).get(j).asInt();
                    int common = 0;
                    for (int t : top) for (int w : want) if (t == w) common++;
                    assertThat(common).as("case %d head %d top-8 overlap", cases, k).isGreaterThanOrEqualTo(7);
                }
                cases++;
            }
            assertThat(cases).isPositive();
        }
    }

    @Test
    void aModelFileIsNotAcceptedAsMedusaHeads() {
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf")); WorkerPool pool = new WorkerPool(1)) {
            assertThatThrownBy(() -> new MedusaMethod(SharedData.model("javatiny-3m-f16.gguf"), m, pool))
                    .isInstanceOf(GgufException.class).hasMessageContaining("medusa");
        }
    }
}
