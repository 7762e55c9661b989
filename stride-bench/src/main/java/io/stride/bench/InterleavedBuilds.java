package io.stride.bench;

import io.stride.core.kv.KvSequence;
import io.stride.core.kv.PagedKvCache;
import io.stride.core.model.Batch;
import io.stride.core.model.Model;
import io.stride.core.model.Transformer;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Times one forward pass of k tokens in two or more builds of stride-core inside one JVM, taking turns pass by pass, so
 * that the machine's drift (large on a shared machine) falls on every build alike. Each build's jar is loaded by its
 * own class loader together with {@link Pass}, which finds the worker pool by reflection, in whichever package the
 * build keeps it.
 *
 * <pre>java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp stride-bench/target/benchmarks.jar \
 *   io.stride.bench.InterleavedBuilds MODEL TOKENS THREADS SECONDS CONTEXT CORE_JAR_A CORE_JAR_B [...]</pre>
 *
 * With {@code -Dinterleaved.lastOnly=true} only the last token asks for logits, as in a prefill (pp). Prints, per
 * build, the median, quartiles and count of pass times (the first three rounds are warm-up) and the median relative to
 * the first build.
 */
public final class InterleavedBuilds {
    private InterleavedBuilds() {}

    /** One build's model and a sequence with CONTEXT tokens of context; each call times one forward pass of k tokens. */
    public static final class Pass implements LongSupplier {
        private final Transformer transformer;
        private final PagedKvCache cache;
        private final KvSequence seq;
        private final Batch batch = new Batch();
        private final float[] logits;
        private final int tokens, context, vocab;
        private static final boolean LAST_ONLY = Boolean.getBoolean("interleaved.lastOnly");

        public Pass(String model, int tokens, int threads, int context) throws Exception {
            Model m = Model.open(Path.of(model));
            transformer = transformer(m, threads);
            cache = transformer.newCache(16, (context + tokens + 15) / 16 + 1);
            seq = cache.newSequence();
            cache.reserve(seq, context + tokens);
            vocab = m.config().vocab();
            logits = new float[tokens * vocab];
            this.tokens = tokens;
            this.context = context;
            for (int start = 0; start < context; start += 64) {
                batch.clear();
                for (int i = start; i < Math.min(context, start + 64); i++) batch.add(i % vocab, i, seq, false);
                transformer.forward(batch, cache, logits);
            }
        }

        /** {@code new Transformer(m, new WorkerPool(threads))} for a build whose WorkerPool lives in either package. */
        private static Transformer transformer(Model m, int threads) throws Exception {
            for (var c : Transformer.class.getConstructors()) {
                Class<?>[] types = c.getParameterTypes();
                if (types.length == 2 && types[0] == Model.class && types[1].getSimpleName().equals("WorkerPool")) {
                    return (Transformer) c.newInstance(m, types[1].getConstructor(int.class).newInstance(threads));
                }
            }
            throw new IllegalStateException("this build has no Transformer(Model, WorkerPool)");
        }

        @Override
        public long getAsLong() {
            batch.clear();
            // logits for every token (a verification pass), or with -Dinterleaved.lastOnly=true for the last (a prefill)
            for (int i = 0; i < tokens; i++) batch.add((7 * i + 3) % vocab, context + i, seq, !LAST_ONLY || i == tokens - 1);
            long start = System.nanoTime();
            transformer.forward(batch, cache, logits);
            return System.nanoTime() - start;
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 7) {
            System.err.println("usage: InterleavedBuilds MODEL TOKENS THREADS SECONDS CONTEXT CORE_JAR_A CORE_JAR_B [CORE_JAR ...]");
            System.exit(2);
        }
        String model = args[0];
        int tokens = Integer.parseInt(args[1]), threads = Integer.parseInt(args[2]), context = Integer.parseInt(args[4]);
        double seconds = Double.parseDouble(args[3]);
        List<String> jars = Arrays.asList(args).subList(5, args.length);
        URL self = InterleavedBuilds.class.getProtectionDomain().getCodeSource().getLocation();
        LongSupplier[] passes = new LongSupplier[jars.size()];
        for (int i = 0; i < passes.length; i++) {
            Path jar = Path.of(jars.get(i));
            if (!Files.isRegularFile(jar)) throw new IllegalArgumentException("no such jar: " + jar);
            // the build's jar first, so that its classes win over the copy of stride-core inside this benchmark jar
            ClassLoader loader = new URLClassLoader(new URL[]{jar.toUri().toURL(), self}, ClassLoader.getPlatformClassLoader());
            passes[i] = (LongSupplier) loader.loadClass(Pass.class.getName())
                    .getConstructor(String.class, int.class, int.class, int.class).newInstance(model, tokens, threads, context);
        }
        List<List<Long>> times = new ArrayList<>();
        for (int i = 0; i < passes.length; i++) times.add(new ArrayList<>());
        long end = System.nanoTime() + (long) (seconds * 1e9);
        for (int round = 0; System.nanoTime() < end; round++) {
            for (int i = 0; i < passes.length; i++) {
                int b = (round + i) % passes.length;   // rotate who goes first
                long t = passes[b].getAsLong();
                if (round >= 3) times.get(b).add(t);
            }
        }
        double first = 0;
        for (int i = 0; i < passes.length; i++) {
            List<Long> t = times.get(i);
            t.sort(null);
            double median = t.get(t.size() / 2) / 1e6;
            if (i == 0) first = median;
            System.out.printf("%s: %d passes of %d tokens, median %.3f ms (p25 %.3f, p75 %.3f), %.3f x the first%n", jars.get(i), t.size(),
                    tokens, median, t.get(t.size() / 4) / 1e6, t.get(3 * t.size() / 4) / 1e6, median / first);
        }
        System.exit(0);
    }
}
