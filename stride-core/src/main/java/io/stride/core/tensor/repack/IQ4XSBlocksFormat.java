package io.stride.core.tensor.repack;

import io.stride.core.gguf.GgmlType;
import io.stride.core.tensor.Tensor;
import io.stride.core.tensor.format.Bytes;
import io.stride.core.tensor.format.IQ4Values;
import io.stride.core.tensor.format.NibbleLevelsFormat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.IntStream;

/**
 * IQ4_XS weights as blocks of 32 in IQ4_NL's form ({@link NibbleLevelsFormat}): each group of 32 of a super-block
 * becomes [its scale d·(ls − 32) as f32][its 16 code bytes], 20 bytes. The f32 scale is exact (an f16 times a 6-bit
 * integer), and so is every value it gives (d, ls − 32 and a level multiply to at most 23 significant bits, in any
 * order), so decoding gives ggml's {@code dequantize_row_iq4_xs} bit for bit while the products run IQ4_NL's
 * vector kernels instead of decoding whole rows to floats. 5 bits per weight instead of 4.25.
 *
 * <p>Rows are addressed as in the file ({@code r · rowBytes} of IQ4_XS); each method maps that to the row's place here.
 */
public final class IQ4XSBlocksFormat extends NibbleLevelsFormat {
    private static final int BLOCK = 20;
    private final int cols;
    private final long fileRowBytes;
    private final long rowBytes;

    private IQ4XSBlocksFormat(int cols) {
        super(GgmlType.IQ4_XS, IQ4Values.floats(), true);
        this.cols = cols;
        this.fileRowBytes = GgmlType.IQ4_XS.bytesFor(cols);
        this.rowBytes = (long) BLOCK * (cols / 32);
    }

    /** A copy of {@code t} (IQ4_XS in the file's layout) in this layout. */
    public static Tensor repack(Tensor t, Arena arena) {
        if (t.type() != GgmlType.IQ4_XS || t.cols() % 256 != 0) return t;
        IQ4XSBlocksFormat f = new IQ4XSBlocksFormat(t.cols());
        MemorySegment src = t.data();
        MemorySegment dst = arena.allocate(f.rowBytes * t.rows(), 64);
        int inBytes = Math.toIntExact(f.fileRowBytes), outBytes = Math.toIntExact(f.rowBytes);
        // a one-off pass at load time, rows in parallel, each rewritten on the heap
        IntStream.range(0, t.rows()).parallel().forEach(r -> {
            byte[] in = new byte[inBytes], out = new byte[outBytes];
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, (long) r * inBytes, in, 0, inBytes);
            MemorySegment row = MemorySegment.ofArray(in);
            for (int sb = 0; sb < t.cols() / 256; sb++) {
                int o = 136 * sb;
                float d = Bytes.f16(row, o);
                int scalesH = row.get(Bytes.LE_SHORT, o + 2) & 0xFFFF;
                for (int ib = 0; ib < 8; ib++) {
                    int ls = ((in[o + 4 + ib / 2] & 0xFF) >>> (4 * (ib % 2)) & 0xF) | (((scalesH >>> (2 * ib)) & 3) << 4);
                    int b = BLOCK * (8 * sb + ib);
                    int bits = Float.floatToRawIntBits(d * (ls - 32));
                    out[b] = (byte) bits;
                    out[b + 1] = (byte) (bits >>> 8);
                    out[b + 2] = (byte) (bits >>> 16);
                    out[b + 3] = (byte) (bits >>> 24);
                    System.arraycopy(in, o + 8 + 16 * ib, out, b + 4, 16);
                }
            }
            MemorySegment.copy(out, 0, dst, ValueLayout.JAVA_BYTE, (long) r * outBytes, outBytes);
        });
        return new Tensor(t.name(), t.type(), t.rows(), t.cols(), dst, f);
    }

    /** Byte of the row at file offset {@code offset} in this layout; only whole rows are read. */
    @Override
    protected long scalesAt(long offset, int n) {
        if (n != cols || offset % fileRowBytes != 0) {
            throw new IllegalArgumentException("a repacked IQ4_XS tensor is read by whole rows of " + cols + " values");
        }
        return offset / fileRowBytes * rowBytes;
    }

    @Override
    protected int quantsOffset() {
        return 4;
    }

    @Override
    protected int blockStride() {
        return BLOCK;
    }
}
