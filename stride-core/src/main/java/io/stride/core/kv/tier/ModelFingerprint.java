package io.stride.core.kv.tier;

import io.stride.core.gguf.GgufFile;
import io.stride.core.gguf.GgufTensorInfo;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.TreeMap;

/**
 * Identifies a model file for the shared KV tier: SHA-256 of the file's header, metadata and tensor table, its size,
 * and the first and last {@value #SAMPLE} bytes of every tensor's data (name order). Two files that differ in any of
 * these get different fingerprints, so one replica never attends to another model's keys and values; hashing samples
 * rather than every weight keeps it to milliseconds for multi-gigabyte files (two fine-tunes of one base that differ
 * only inside every tensor's middle would collide: the risk is accepted and documented).
 */
public final class ModelFingerprint {
    static final int SAMPLE = 4096;

    private ModelFingerprint() {}

    /** 32 bytes. */
    public static byte[] of(GgufFile file) {
        MessageDigest sha = sha256();
        update(sha, file.headerBytes());
        sha.update(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(file.byteSize()).array());
        for (GgufTensorInfo t : new TreeMap<>(file.tensors()).values()) {
            MemorySegment d = file.tensorData(t);
            long n = d.byteSize();
            update(sha, d.asSlice(0, Math.min(SAMPLE, n)));
            if (n > SAMPLE) {
                update(sha, d.asSlice(Math.max(SAMPLE, n - SAMPLE)));
            }
        }
        return sha.digest();
    }

    /** The first 8 bytes as 16 hex digits (the part that goes into store keys). */
    public static String shortHex(byte[] fingerprint) {
        return HexFormat.of().formatHex(fingerprint, 0, 8);
    }

    private static void update(MessageDigest sha, MemorySegment seg) {
        byte[] chunk = new byte[64 * 1024];
        for (long off = 0; off < seg.byteSize(); off += chunk.length) {
            int n = (int) Math.min(chunk.length, seg.byteSize() - off);
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, off, chunk, 0, n);
            sha.update(chunk, 0, n);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
