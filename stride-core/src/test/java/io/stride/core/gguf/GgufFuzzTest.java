package io.stride.core.gguf;

import io.stride.core.SharedData;
import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;
import io.stride.core.parallel.WorkerPool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/** Flips and truncates bytes of a real model file: loading either works or fails with the clear-error type. */
class GgufFuzzTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void mutatedFilesFailCleanly() throws Exception {
        byte[] original = Files.readAllBytes(SharedData.model("stories260K.gguf"));
        SplittableRandom rnd = new SplittableRandom(1234);
        int clean = 0;
        int loaded = 0;
        try (WorkerPool pool = new WorkerPool(1)) {
            for (int iter = 0; iter < 400; iter++) {
                byte[] b;
                int mode = iter % 4;
                if (mode == 0) {
                    b = Arrays.copyOf(original, rnd.nextInt(original.length));
                } else {
                    b = original.clone();
                    int flips = 1 + rnd.nextInt(8);
                    // bias mutations towards the header and metadata, where parsing happens
                    int span = mode == 3 ? original.length : 12_000;
                    for (int k = 0; k < flips; k++) {
                        int at = rnd.nextInt(span);
                        b[at] = mode == 2 ? (byte) 0xff : (byte) (b[at] ^ (1 << rnd.nextInt(8)));
                    }
                }
                Path p = dir.resolve("fuzz" + iter + ".gguf");
                Files.write(p, b);
                try (Model m = Model.open(p)) {
                    loaded++;
                    Transformer tf = new Transformer(m, pool);
                    PagedKvCache cache = tf.newCache(16, 1);
                    KvSequence seq = cache.newSequence();
                    cache.reserve(seq, 4);
                    Batch batch = new Batch();
                    int[] ids = m.tokenizer().encode("Once upon a time");
                    for (int i = 0; i < Math.min(4, ids.length); i++) batch.add(ids[i], i, seq, i == Math.min(4, ids.length) - 1);
                    tf.forward(batch, cache, new float[m.config().vocab()]);
                    m.tokenizer().decode(ids);
                } catch (GgufException e) {
                    assertThat(e.getMessage()).contains(p.toString());
                    clean++;
                } catch (Throwable t) {
                    fail("iteration " + iter + ": unexpected " + t, t);
                }
                Files.delete(p);
            }
        }
        assertThat(clean).isGreaterThan(50);
        System.out.printf("fuzz: %d clean errors, %d loaded%n", clean, loaded);
    }
}
