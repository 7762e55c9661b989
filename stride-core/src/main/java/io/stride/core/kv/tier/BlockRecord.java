package io.stride.core.kv.tier;

import io.stride.core.kv.KvCacheConfig;
import io.stride.core.kv.PagedKvCache;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * One full KV block as it travels through the shared tier: a header naming everything the bytes depend on (model
 * fingerprint, cache types and rotation, layer count, head dims, block size, tenant salt), the block's two chain
 * hashes (the prefix cache's and an independent check chain, 128 bits together) with its parent's, its tokens, then
 * for each layer the block's keys and values exactly as stored ({@code KvArray.exportSlots}: the key tile and the
 * value rows, each with its scales), and a CRC-32C of all of it. A record is
 * installed only when every field matches what the reader expects for that position of its own prompt, so a
 * truncated, corrupted or foreign value is ignored, never attended to.
 */
public final class BlockRecord {
    static final int MAGIC = 0x3156_4B53; // "SKV1"
    static final short VERSION = 1;

    private final ByteBuffer buf;
    private final int payloadStart;

    private BlockRecord(ByteBuffer buf, int payloadStart) {
        this.buf = buf;
        this.payloadStart = payloadStart;
    }

    /** What a record's header must say for one cache (everything but the position-dependent hashes and tokens). */
    public record Shape(byte[] fingerprint, KvCacheConfig config, int layers, int keyDim, int valueDim, int blockSize) {
        public static Shape of(byte[] fingerprint, PagedKvCache cache) {
            return new Shape(fingerprint, cache.config(), cache.layers(), cache.keyDim(), cache.valueDim(), cache.blockSize());
        }

        int headerBytes() {
            return 4 + 2 + 32 + 3 + 16 + 32 + 4 * blockSize;
        }
    }

    /** Where a block sits in its prompt's chains. */
    public record Position(long salt, long hash, long parent, long check) {}

    /**
     * Serializes physical block {@code block} of {@code cache}, holding {@code tokens[from .. from + count)} ({@code count}
     * below the block size: a prompt's partial last block; the token list is padded with -1 and the slots past
     * {@code count} carry whatever the block held, never read by a reader, which computes those positions).
     */
    public static byte[] encode(PagedKvCache cache, Shape shape, int block, Position pos, int[] tokens, int from, int count) {
        int bs = cache.blockSize();
        int payload = 0;
        for (int l = 0; l < cache.layers(); l++) {
            payload += cache.keys(l).exportBytes(bs) + cache.values(l).exportBytes(bs);
        }
        ByteBuffer b = ByteBuffer.allocate(shape.headerBytes() + payload + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).putShort(VERSION).put(shape.fingerprint());
        KvCacheConfig c = shape.config();
        b.put((byte) c.keys().ordinal()).put((byte) c.values().ordinal()).put((byte) (c.rotate() ? 1 : 0));
        b.putInt(shape.layers()).putInt(shape.keyDim()).putInt(shape.valueDim()).putInt(bs);
        b.putLong(pos.salt()).putLong(pos.hash()).putLong(pos.parent()).putLong(pos.check());
        for (int i = 0; i < bs; i++) {
            b.putInt(i < count ? tokens[from + i] : -1);
        }
        int first = block * bs;
        if (cache.allocator().keyBlock(block) < 0) {
            throw new IllegalStateException("block " + block + " gave its keys back (ShadowKV) and cannot be shared");
        }
        for (int l = 0; l < cache.layers(); l++) {
            cache.keys(l).exportSlots(cache.keySlot(first), bs, b);
            cache.values(l).exportSlots(first, bs, b);
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return b.array();
    }

    /**
     * The record in {@code bytes} if it is intact and is exactly the block at {@code pos} of a prompt holding
     * {@code tokens[from .. from + count)} for a cache of {@code shape}; otherwise null (and why, in {@code why[0]}).
     */
    public static BlockRecord decode(byte[] bytes, Shape shape, Position pos, int[] tokens, int from, int count, int payloadBytes,
                                     String[] why) {
        int bs = shape.blockSize();
        int expected = shape.headerBytes() + payloadBytes + 4;
        if (bytes.length != expected) {
            return reject(why, "length " + bytes.length + ", expected " + expected);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        if ((int) crc.getValue() != b.getInt(bytes.length - 4)) {
            return reject(why, "checksum mismatch");
        }
        if (b.getInt() != MAGIC || b.getShort() != VERSION) {
            return reject(why, "not a version-1 block record");
        }
        byte[] fp = new byte[32];
        b.get(fp);
        if (!Arrays.equals(fp, shape.fingerprint())) {
            return reject(why, "another model's block");
        }
        KvCacheConfig c = shape.config();
        if (b.get() != c.keys().ordinal() || b.get() != c.values().ordinal() || b.get() != (c.rotate() ? 1 : 0)) {
            return reject(why, "another cache type");
        }
        if (b.getInt() != shape.layers() || b.getInt() != shape.keyDim() || b.getInt() != shape.valueDim() || b.getInt() != bs) {
            return reject(why, "another cache shape");
        }
        if (b.getLong() != pos.salt() || b.getLong() != pos.hash() || b.getLong() != pos.parent() || b.getLong() != pos.check()) {
            return reject(why, "another prefix (salt or chain hashes differ)");
        }
        for (int i = 0; i < bs; i++) {
            if (b.getInt() != (i < count ? tokens[from + i] : -1)) {
                return reject(why, "other tokens");
            }
        }
        return new BlockRecord(b, b.position());
    }

    private static BlockRecord reject(String[] why, String reason) {
        if (why != null) {
            why[0] = reason;
        }
        return null;
    }

    /** Bytes of a block's keys and values in every layer of {@code cache}, as {@link #encode} writes them. */
    public static int payloadBytes(PagedKvCache cache) {
        int n = 0;
        for (int l = 0; l < cache.layers(); l++) {
            n += cache.keys(l).exportBytes(cache.blockSize()) + cache.values(l).exportBytes(cache.blockSize());
        }
        return n;
    }

    /** Writes the record's keys and values into physical block {@code block} of {@code cache} (of the record's shape). */
    public void install(PagedKvCache cache, int block) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN).position(payloadStart);
        int bs = cache.blockSize(), first = block * bs;
        for (int l = 0; l < cache.layers(); l++) {
            cache.keys(l).importSlots(cache.keySlot(first), bs, b);
            cache.values(l).importSlots(first, bs, b);
        }
    }
}
