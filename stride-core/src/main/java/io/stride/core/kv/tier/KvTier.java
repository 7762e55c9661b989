package io.stride.core.kv.tier;

import io.stride.core.kv.PagedKvCache;
import io.stride.core.kv.PrefixCache;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.ref.Cleaner;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The shared KV tier of one engine (LMCache's idea on a plain key-value store): full prefix blocks are published under
 * their chain hash, and fetched by any replica with the same model and cache layout before it computes them. Keys
 * are {@code PREFIX:FINGERPRINT:TYPEK-TYPEV[r]:BLOCKSIZE:SALT:HASH} (hex), so blocks of other models, cache types,
 * block sizes or tenants never meet. Failures of the store are misses: after one, the store is skipped for
 * {@code backoffMillis} so that a dead store costs requests nothing but the reuse. Publication runs on one
 * background thread in order; {@link #flush} waits for what was handed to it so far.
 */
public final class KvTier implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KvTier.class);
    /** Salt of the check chain: a second 64-bit chain over the same tokens, so a record matches on 128 bits. */
    public static final long CHECK_SALT = 0x2545F4914F6CDD1DL;
    /** Publications waiting beyond this are dropped (the store is slower than the engine). */
    static final int MAX_PENDING = 256;

    private final KvStore store;
    private final BlockRecord.Shape shape;
    private final String keyPrefix;
    private final int payloadBytes;
    private final long backoffNanos;
    private final ExecutorService publisher = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform()
            .name("stride-kv-publish").daemon(true).unstarted(r));
    private final AtomicInteger pending = new AtomicInteger();
    /** bytes of fetched records waiting for their request's admission; a fetch that would pass the cap is skipped */
    private final AtomicLong held = new AtomicLong();
    private final long maxHeldBytes;
    private static final Cleaner CLEANER = Cleaner.create();
    private volatile long downUntil;
    private KvHandoff handoff;
    final AtomicLong fetched = new AtomicLong();
    final AtomicLong rejected = new AtomicLong();
    final AtomicLong published = new AtomicLong();
    final AtomicLong dropped = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
    final AtomicLong skipped = new AtomicLong();

    /** {@code maxHeldBytes}: most bytes of fetched records that may wait for their requests' admission at once. */
    public KvTier(KvStore store, byte[] fingerprint, PagedKvCache cache, String keyPrefix, long backoffMillis, long maxHeldBytes) {
        this.maxHeldBytes = maxHeldBytes;
        this.store = store;
        this.shape = BlockRecord.Shape.of(fingerprint, cache);
        this.payloadBytes = BlockRecord.payloadBytes(cache);
        var c = cache.config();
        this.keyPrefix = keyPrefix + ":" + ModelFingerprint.shortHex(fingerprint) + ":" + c.keys().label() + "-" + c.values().label()
                + (c.rotate() && (c.keys().blocked() || c.values().blocked()) ? "r" : "") + ":" + cache.blockSize() + ":";
        this.backoffNanos = backoffMillis * 1_000_000L;
    }

    /** Makes this tier the decode side of a prefill/decode pair: prompts are first handed to {@code h}. */
    public KvTier withHandoff(KvHandoff h) {
        this.handoff = h;
        return this;
    }

    /** The prefill side prompts are handed to before their blocks are fetched (null: none). */
    public KvHandoff handoff() {
        return handoff;
    }

    public int blockSize() {
        return shape.blockSize();
    }

    public String key(long salt, long hash) {
        return keyPrefix + Long.toHexString(salt) + ":" + Long.toHexString(hash);
    }

    /** The key of a prompt's partial last block (its own suffix: a partial block never answers for a full one). */
    public String tailKey(long salt, long hash) {
        return key(salt, hash) + ":t";
    }

    /**
     * What a fetch found: records of consecutive full blocks, and the partial tail's when every full block was found.
     * Their bytes count against the tier's cap on fetched bytes until {@link #release} (or until they are garbage,
     * for a request that ends before admission).
     */
    public record Fetched(List<BlockRecord> blocks, BlockRecord tail, Runnable hold) {
        public static final Fetched NONE = new Fetched(List.of(), null, () -> { });

        /** The records were installed or will not be: their bytes no longer count. */
        public void release() {
            hold.run();
        }
    }

    /** Gives back {@code bytes} of the cap once, whether called or run by the cleaner. */
    private record Hold(AtomicLong held, long bytes, AtomicBoolean done) implements Runnable {
        @Override
        public void run() {
            if (done.compareAndSet(false, true)) {
                held.addAndGet(-bytes);
            }
        }
    }

    /**
     * The valid records of full blocks {@code from, from + 1, ...} of a prompt with chains {@code c} over
     * {@code tokens}, stopping at the first missing or invalid one, and of its tail when all were found. Blocking
     * (network); never throws.
     */
    public Fetched fetch(int[] tokens, PromptChains c, int from, long salt) {
        int blocks = c.blocks(), bs = shape.blockSize();
        if ((from >= blocks && c.tailLength() == 0) || down()) {
            return Fetched.NONE;
        }
        long bytes = (long) (blocks - from + 1) * (shape.headerBytes() + payloadBytes + 4);
        if (held.addAndGet(bytes) > maxHeldBytes) {
            held.addAndGet(-bytes);
            skipped.incrementAndGet();
            return Fetched.NONE; // too many fetched blocks wait for admission already: compute this prompt
        }
        Hold hold = new Hold(held, bytes, new AtomicBoolean());
        Fetched found = fetchHeld(tokens, c, from, salt, hold);
        if (found.blocks().isEmpty() && found.tail() == null) {
            hold.run();
            return Fetched.NONE;
        }
        CLEANER.register(found, hold);
        return found;
    }

    private Fetched fetchHeld(int[] tokens, PromptChains c, int from, long salt, Hold hold) {
        int blocks = c.blocks(), bs = shape.blockSize();
        List<String> keys = new ArrayList<>(blocks - from + 1);
        for (int i = from; i < blocks; i++) {
            keys.add(key(salt, c.hash()[i]));
        }
        if (c.tailLength() > 0) {
            keys.add(tailKey(salt, c.tailHash()));
        }
        List<byte[]> values;
        try {
            values = store.getAll(keys);
        } catch (Exception e) {
            failed("fetch", e);
            return Fetched.NONE;
        }
        List<BlockRecord> out = new ArrayList<>();
        for (int i = from; i < blocks; i++) {
            var pos = new BlockRecord.Position(salt, c.hash()[i], c.parent(i), c.check()[i]);
            BlockRecord r = valid(values.get(i - from), pos, tokens, i * bs, bs, keys.get(i - from));
            if (r == null) {
                break;
            }
            out.add(r);
        }
        BlockRecord tail = null;
        if (c.tailLength() > 0 && from + out.size() == blocks) {
            var pos = new BlockRecord.Position(salt, c.tailHash(), c.parent(blocks), c.tailCheck());
            tail = valid(values.getLast(), pos, tokens, blocks * bs, c.tailLength(), keys.getLast());
        }
        fetched.addAndGet(out.size() + (tail != null ? 1 : 0));
        return new Fetched(out, tail, hold);
    }

    /**
     * Which of a prompt's first {@code count} full blocks (held in the local prefix cache) the store lacks, evicted since
     * they were published or never published: they are published again at admission, so other replicas find them.
     * Empty when the store fails. Blocking (network).
     */
    public int[] absent(PromptChains c, int count, long salt) {
        if (count == 0 || down()) {
            return new int[0];
        }
        List<String> keys = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            keys.add(key(salt, c.hash()[i]));
        }
        boolean[] there;
        try {
            there = store.existAll(keys);
        } catch (Exception e) {
            failed("exists", e);
            return new int[0];
        }
        int[] out = new int[count];
        int n = 0;
        for (int i = 0; i < count; i++) {
            if (!there[i]) out[n++] = i;
        }
        return java.util.Arrays.copyOf(out, n);
    }

    private BlockRecord valid(byte[] v, BlockRecord.Position pos, int[] tokens, int from, int count, String key) {
        if (v == null) {
            return null;
        }
        String[] why = new String[1];
        BlockRecord r = BlockRecord.decode(v, shape, pos, tokens, from, count, payloadBytes, why);
        if (r == null) {
            rejected.incrementAndGet();
            LOG.warn("ignoring shared KV block {}: {}", key, why[0]);
        }
        return r;
    }

    /** Encodes block {@code block} now (on the caller's thread: the slot may be reused later) and stores it in the background. */
    public void publish(PagedKvCache cache, int block, long salt, long hash, long parent, long check, int[] tokens, int from) {
        publish(cache, block, salt, hash, parent, check, tokens, from, shape.blockSize(), key(salt, hash));
    }

    /** As {@link #publish}, for a prompt's partial last block of {@code count} positions (its keys and values so far). */
    public void publishTail(PagedKvCache cache, int block, long salt, long hash, long parent, long check, int[] tokens, int from,
                            int count) {
        publish(cache, block, salt, hash, parent, check, tokens, from, count, tailKey(salt, hash));
    }

    private void publish(PagedKvCache cache, int block, long salt, long hash, long parent, long check, int[] tokens, int from,
                         int count, String key) {
        if (down() || pending.get() >= MAX_PENDING) {
            dropped.incrementAndGet();
            return;
        }
        byte[] value = BlockRecord.encode(cache, shape, block, new BlockRecord.Position(salt, hash, parent, check), tokens, from, count);
        pending.incrementAndGet();
        publisher.execute(() -> {
            try {
                if (!down()) {
                    store.putIfAbsent(key, value);
                    published.incrementAndGet();
                } else {
                    dropped.incrementAndGet();
                }
            } catch (Exception e) {
                dropped.incrementAndGet();
                failed("store", e);
            } finally {
                pending.decrementAndGet();
            }
        });
    }

    /** Completes when every publication handed over before this call has been stored (or dropped). */
    public CompletableFuture<Void> flush() {
        return CompletableFuture.runAsync(() -> {}, publisher);
    }

    private boolean down() {
        return System.nanoTime() - downUntil < 0;
    }

    private void failed(String what, Exception e) {
        errors.incrementAndGet();
        downUntil = System.nanoTime() + backoffNanos;
        LOG.warn("KV store {}: {} failed ({}); skipping it for {} ms", store.describe(), what, e.toString(), backoffNanos / 1_000_000);
    }

    public long fetchedBlocks() {
        return fetched.get();
    }

    public long rejectedBlocks() {
        return rejected.get();
    }

    public long publishedBlocks() {
        return published.get();
    }

    public long droppedBlocks() {
        return dropped.get();
    }

    /** Bytes of fetched records waiting for admission now. */
    public long heldBytes() {
        return held.get();
    }

    /** Fetches skipped because fetched blocks already waiting reached the cap. */
    public long skippedFetches() {
        return skipped.get();
    }

    public long storeErrors() {
        return errors.get();
    }

    public String describe() {
        return store.describe();
    }

    @Override
    public void close() {
        publisher.shutdown();
        try {
            publisher.awaitTermination(2, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        store.close();
    }
}
