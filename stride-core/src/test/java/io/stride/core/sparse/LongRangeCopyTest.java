package io.stride.core.sparse;

import io.stride.core.SharedData;
import io.stride.core.engine.JavatinyPerplexityAccess;
import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.parallel.WorkerPool;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Long-range copies under sparse attention: in the first twelve 2,048-token windows of the workload's held-out Java
 * text, the positions whose next token is an identifier last seen 1,000 or more tokens earlier (none nearer) are what
 * sparse attention can lose; decoded as decode steps from position 1,024 on, sparse attention's greedy choice there
 * must agree with dense attention's at least 95 % of the time at budget 512, with TidalDecode and with ShadowKV (whose
 * chosen chunks' keys are rebuilt from rank-40 factors; its prompt is the window's first 1,024 positions).
 */
@Tag("slow")
class LongRangeCopyTest {
    static final int WINDOW = 2048, FROM = 1024, DISTANCE = 1000, WINDOWS = 12;

    @Test
    void sparseAttentionKeepsLongRangeCopies() throws Exception {
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf")); WorkerPool pool = new WorkerPool(2)) {
            int[] ids = m.tokenizer().encode(JavatinyPerplexityAccess.text());
            boolean[] word = new boolean[m.config().vocab()];
            for (int t = 0; t < word.length; t++) {
                String s = m.tokenizer().decode(new int[] {t}).strip();
                word[t] = s.length() >= 4 && s.chars().allMatch(ch -> Character.isLetterOrDigit(ch) || ch == '_')
                        && Character.isLetter(s.charAt(0));
            }
            Transformer tf = new Transformer(m, pool);
            PagedKvCache cache = tf.newCache(16, WINDOW / 16 + 2);
            String[] modes = {"tidal:budget=512", "shadowkv:budget=512,outliers=4"};
            int checked = 0;
            int[] agree = new int[modes.length];
            for (int ws = 0; ws + WINDOW <= Math.min(ids.length, WINDOWS * WINDOW); ws += WINDOW) {
                int[] dense = argmax(tf, cache, ids, ws, null);
                int[][] sparse = new int[modes.length][];
                for (int k = 0; k < modes.length; k++) {
                    sparse[k] = argmax(tf, cache, ids, ws, SparseAttention.parse(modes[k]).forLayers(m.config().layers(), m.config().kvDimK()));
                }
                for (int p = FROM; p < WINDOW - 1; p++) {
                    int next = ids[ws + p + 1];
                    if (!word[next] || lastSeen(ids, ws, p + 1, next) < DISTANCE) continue;
                    checked++;
                    for (int k = 0; k < modes.length; k++) {
                        if (dense[p] == sparse[k][p]) agree[k]++;
                    }
                }
            }
            assertThat(checked).as("positions checked").isGreaterThan(50);
            for (int k = 0; k < modes.length; k++) {
                System.out.printf("long-range copies: %d positions, %s agrees with dense at %d (%.1f %%)%n", checked, modes[k],
                        agree[k], 100.0 * agree[k] / checked);
            }
            for (int k = 0; k < modes.length; k++) {
                assertThat((double) agree[k] / checked).as("agreement of %s", modes[k]).isGreaterThanOrEqualTo(0.95);
            }
        }
    }

    /** How far back token {@code t} last occurred before window position {@code at} (MAX_VALUE: never in the window). */
    static int lastSeen(int[] ids, int ws, int at, int t) {
        for (int q = at - 1; q >= 0; q--) {
            if (ids[ws + q] == t) return at - q;
        }
        return Integer.MAX_VALUE;
    }

    /** Greedy choice after every position of the window; positions from {@link #FROM} on fed as sparse decode steps. */
    static int[] argmax(Transformer tf, PagedKvCache cache, int[] ids, int ws, SparseAttention sa) {
        int vocab = tf.config().vocab(), chunk = 256;
        int[] out = new int[WINDOW];
        float[] logits = new float[chunk * vocab];
        KvSequence seq = cache.newSequence();
        cache.reserve(seq, WINDOW);
        Batch b = new Batch();
        try {
            for (int cs = 0; cs < WINDOW; cs += chunk) {
                b.clear();
                for (int i = cs; i < cs + chunk; i++) {
                    b.add(ids[ws + i], i, seq, true);
                    if (i >= FROM) b.setSparse(b.size() - 1, sa);
                }
                tf.forward(b, cache, logits);
                for (int r = 0; r < chunk; r++) {
                    int best = 0;
                    for (int v = 1; v < vocab; v++) if (logits[r * vocab + v] > logits[r * vocab + best]) best = v;
                    out[cs + r] = best;
                }
            }
        } finally {
            cache.release(seq);
        }
        return out;
    }
}
