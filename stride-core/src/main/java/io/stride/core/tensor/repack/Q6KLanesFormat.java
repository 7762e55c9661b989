package io.stride.core.tensor.repack;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.Tensor;
import io.stride.core.tensor.format.Bytes;
import io.stride.core.tensor.format.Q3KFormat;
import io.stride.core.tensor.kernel.Q8Activations;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Q6_K weights in block lanes ({@link LanesFormat}): a lane block of 32 values is two Q6_K sub-blocks of 16 (A: values
 * 0..15, B: 16..31), value (d·sc)·(q − 32) with q = lo + 16·hi (lo 4 bits, hi 2 bits). A record holds, for the four
 * rows: the low nibbles, pair row p (0..7) of row j at {@code 64j + 256p}, a lane holding elements 4p..4p + 3 from its
 * low bits up (so pair rows 0..3 are sub-block A, 4..7 sub-block B); the high bits at {@link #high}, row h (0..3) of row j
 * at {@code 2048 + 64j + 256h}, a lane holding elements 8h..8h + 7 two bits each; then per row a 72-byte scale section
 * ({@link #section}): the lane group's four super-blocks' d (f16), then the int8 scales of sub-blocks A of the even
 * blocks (block 2k at byte 8 + k), of the odd blocks (24 + k), of sub-blocks B likewise (40 + k, 56 + k). Same bytes per
 * row as the file.
 * <p>Q3_K weights take the same layout ({@link #repackQ3K}): value d·(sc − 32)·q3 with q3 in −4..3 is d·sc'·(q − 32)
 * with sc' = sc − 32 and q = q3 + 32, exactly, so they get Q6_K's integer products (at twice their bytes).
 */
public final class Q6KLanesFormat extends LanesFormat {
    /** bytes of one row's scale section in a record */
    public static final int SECTION = 72;
    /** bytes of a record's quants: the nibbles, then the high bits */
    static final int QUANTS = QUANT_BYTES + QUANT_BYTES / 2;

    /** One super-block of a source type: its f16 d (two bytes), 16 int8 scales, 256 q (0..63; value d·sc·(q − 32)). */
    interface Source {
        void decode(byte[] in, int o, byte[] d, byte[] scales, int[] q);
    }

    private final GgmlType source;
    private final int superBlockBytes;

    Q6KLanesFormat(int cols, GgmlType source, int superBlockBytes) {
        super(Kind.Q6_K, cols, (long) superBlockBytes * (cols / 256), QUANTS, SECTION);
        this.source = source;
        this.superBlockBytes = superBlockBytes;
    }

    Q6KLanesFormat(int cols) {
        this(cols, GgmlType.Q6_K, 210);
    }

    /** A copy of {@code t} (Q6_K in the file's layout) in this layout, or {@code t} when its shape does not suit. */
    public static Tensor repack(Tensor t, Arena arena) {
        if (!suits(t, GgmlType.Q6_K, 256)) return t;
        return new Q6KLanesFormat(t.cols()).copyInto(t, arena, Q6KLanesFormat::decodeQ6K);
    }

    /** A copy of {@code t} (Q3_K in the file's layout) in this layout, or {@code t} when its shape does not suit. */
    public static Tensor repackQ3K(Tensor t, Arena arena) {
        if (!suits(t, GgmlType.Q3_K, 256)) return t;
        return new Q6KLanesFormat(t.cols(), GgmlType.Q3_K, 110).copyInto(t, arena, Q6KLanesFormat::decodeQ3K);
    }

    @Override
    public GgmlType type() {
        return source;
    }

    static void decodeQ6K(byte[] in, int o, byte[] d, byte[] scales, int[] q) {
        d[0] = in[o + 208];
        d[1] = in[o + 209];
        System.arraycopy(in, o + 192, scales, 0, 16);
        for (int i = 0; i < 256; i++) q[i] = q6(in, o, i);
    }

    /** Q3_K as ggml's dequantize_row_q3_K reads it ({@link Q3KFormat#scale}, {@link Q3KFormat#q3}). */
    private static void decodeQ3K(byte[] in, int o, byte[] d, byte[] scales, int[] q) {
        MemorySegment view = MemorySegment.ofArray(in);
        d[0] = in[o + 108];
        d[1] = in[o + 109];
        for (int j = 0; j < 16; j++) scales[j] = (byte) (Q3KFormat.scale(view, o + 96, j) - 32);
        for (int i = 0; i < 256; i++) q[i] = Q3KFormat.q3(view, o, i) + 32;
    }

    /** Byte of row j's high-bit row 0 in a record; row h is {@link #PAIR_STRIDE}·h further. */
    public static long high(long record, int j) {
        return record + QUANT_BYTES + 64L * j;
    }

    /** Byte of row j's (0..3) scale section in a record. */
    public static long section(long record, int j) {
        return record + QUANTS + (long) SECTION * j;
    }

    /** Offset in a scale section of block l's (0..31) sub-block A scale ({@code half} 0) or B scale (1). */
    static int scaleByte(int l, int half) {
        return 8 + 32 * half + 16 * (l % 2) + l / 2;
    }

    /** q (0..63) of value i (0..255) of the Q6_K super-block at {@code in[o ..]}. */
    static int q6(byte[] in, int o, int i) {
        int n = i / 128, group = (i % 128) / 32, l = i % 32;
        int lo = in[o + 64 * n + l + 32 * (group % 2)] & 0xff;
        int hi = in[o + 128 + 32 * n + l] & 0xff;
        return (group < 2 ? lo & 15 : lo >>> 4) | ((hi >>> (2 * group)) & 3) << 4;
    }

    private Tensor copyInto(Tensor t, Arena arena, Source decoder) {
        return copyRows(t, arena, (in, out) -> writeRows(this, in, out, superBlockBytes, decoder, Q6KLanesFormat::section, (o, rec, j, l, e, q) -> {
            o[(int) (quants(rec, j) + PAIR_STRIDE * (e / 4) + 2 * l + (e % 4) / 2)] |= (byte) ((q & 15) << (4 * (e % 2)));
            o[(int) (high(rec, j) + PAIR_STRIDE * (e / 8) + 2 * l + (e % 8) / 4)] |= (byte) ((q >>> 4) << (2 * (e % 4)));
        }));
    }

    /** Where a layout puts value e (0..31) of block l of row j of a record, q in 0..63. */
    interface QuantSink {
        void put(byte[] out, long record, int j, int l, int e, int q);
    }

    /** Where a layout puts row j's scale section of a record. */
    interface SectionOf {
        long at(long record, int j);
    }

    /**
     * A group of four rows of Q6_K-valued super-blocks ({@code in}, the file's layout, decoded by {@code decoder}) into
     * the records {@code out} of {@code f}: d and the int8 scales into each lane group's section (laid out as this class
     * documents), every q through {@code sink}. Both Q6_K layouts ({@link Q6KFieldsFormat}) write their records so.
     */
    static void writeRows(LanesFormat f, byte[] in, byte[] out, int superBlockBytes, Source decoder, SectionOf sectionOf, QuantSink sink) {
        byte[] d = new byte[2], scales = new byte[16];
        int[] qs = new int[256];
        for (int j = 0; j < 4; j++) {
            for (int s = 0; s < f.cols / 256; s++) {
                decoder.decode(in, (int) (j * f.rowBytes) + superBlockBytes * s, d, scales, qs);
                long rec = f.record(0, s / 4);
                int sec = (int) sectionOf.at(rec, j);
                out[sec + 2 * (s % 4)] = d[0];
                out[sec + 2 * (s % 4) + 1] = d[1];
                for (int sb = 0; sb < 8; sb++) {
                    int l = (8 * s + sb) % Q8Activations.GROUP;
                    out[sec + scaleByte(l, 0)] = scales[2 * sb];
                    out[sec + scaleByte(l, 1)] = scales[2 * sb + 1];
                    for (int e = 0; e < 32; e++) sink.put(out, rec, j, l, e, qs[32 * sb + e]);
                }
            }
        }
    }

    /** Values as {@link io.stride.core.tensor.format.Q6KFormat} (or Q3KFormat) decodes them: d·sc·(q − 32). */
    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        int r = row(offset, n);
        for (int b = 0; b < blocks; b++) {
            int l = b % Q8Activations.GROUP;
            long rec = record(r - r % 4, b / Q8Activations.GROUP);
            long sec = section(rec, r % 4);
            float d = Bytes.f16(src, sec + 2L * ((b / 8) % 4));
            for (int e = 0; e < 32; e++) {
                int lo = Bytes.u8(src, quants(rec, r % 4) + PAIR_STRIDE * (e / 4) + 2 * l + (e % 4) / 2) >>> (4 * (e % 2)) & 15;
                int hi = Bytes.u8(src, high(rec, r % 4) + PAIR_STRIDE * (e / 8) + 2 * l + (e % 8) / 4) >>> (2 * (e % 4)) & 3;
                dst[dstOff + 32 * b + e] = d * Bytes.i8(src, sec + scaleByte(l, e / 16)) * ((lo | hi << 4) - 32);
            }
        }
    }
}
