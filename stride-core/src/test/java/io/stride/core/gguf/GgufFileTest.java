package io.stride.core.gguf;

import io.stride.core.model.Model;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GgufFileTest {
    @TempDir
    Path dir;

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    @Test
    void writerRoundTripsEveryMetadataTypeAndTensors() throws IOException {
        GgufValue.GgufArray inner1 = new GgufValue.GgufArray(GgufValueType.INT32, new long[]{1, -2, 3});
        GgufValue.GgufArray inner2 = new GgufValue.GgufArray(GgufValueType.STRING, new String[]{"a", "ß", ""});
        GgufWriter w = new GgufWriter()
                .put("u8", new GgufValue(GgufValueType.UINT8, 255L))
                .put("i8", new GgufValue(GgufValueType.INT8, -128L))
                .put("u16", new GgufValue(GgufValueType.UINT16, 65535L))
                .put("i16", new GgufValue(GgufValueType.INT16, -32768L))
                .put("u32", new GgufValue(GgufValueType.UINT32, 4294967295L))
                .put("i32", new GgufValue(GgufValueType.INT32, -5L))
                .put("u64", new GgufValue(GgufValueType.UINT64, 1L << 40))
                .put("i64", new GgufValue(GgufValueType.INT64, -(1L << 40)))
                .put("f32", GgufValue.ofFloat32(1.5f))
                .put("f64", new GgufValue(GgufValueType.FLOAT64, 2.25))
                .put("bool", GgufValue.ofBool(true))
                .put("str", GgufValue.ofString("héllo ✓"))
                .putFloats("floats", new float[]{0.5f, -1f})
                .put("bools", GgufValue.ofArray(new GgufValue.GgufArray(GgufValueType.BOOL, new boolean[]{true, false})))
                .put("nested", GgufValue.ofArray(new GgufValue.GgufArray(GgufValueType.ARRAY, new GgufValue.GgufArray[]{inner1, inner2})))
                .put("general.alignment", GgufValue.ofUInt32(64));
        byte[] a = new byte[4 * 6];
        for (int i = 0; i < a.length; i++) a[i] = (byte) i;
        w.addTensor("a", GgmlType.F32, new long[]{3, 2}, a);
        w.addTensor("b", GgmlType.Q8_0, new long[]{32}, new byte[34]);
        Path p = dir.resolve("rt.gguf");
        w.write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.version()).isEqualTo(3);
            GgufMetadata m = f.meta();
            assertThat(m.integer("u8")).isEqualTo(255);
            assertThat(m.integer("i8")).isEqualTo(-128);
            assertThat(m.integer("u16")).isEqualTo(65535);
            assertThat(m.integer("i16")).isEqualTo(-32768);
            assertThat(m.integer("u32")).isEqualTo(4294967295L);
            assertThat(m.integer("i32")).isEqualTo(-5);
            assertThat(m.integer("u64")).isEqualTo(1L << 40);
            assertThat(m.integer("i64")).isEqualTo(-(1L << 40));
            assertThat(m.number("f32")).isEqualTo(1.5);
            assertThat(m.number("f64")).isEqualTo(2.25);
            assertThat(m.bool("bool", false)).isTrue();
            assertThat(m.string("str")).isEqualTo("héllo ✓");
            assertThat(m.floatArray("floats")).containsExactly(0.5f, -1f);
            GgufValue.GgufArray nested = (GgufValue.GgufArray) f.metadata().get("nested").value();
            GgufValue.GgufArray[] parts = (GgufValue.GgufArray[]) nested.values();
            assertThat((long[]) parts[0].values()).containsExactly(1, -2, 3);
            assertThat((String[]) parts[1].values()).containsExactly("a", "ß", "");
            assertThat(f.dataStart() % 64).isZero();
            GgufTensorInfo ta = f.tensor("a");
            assertThat(ta.dims()).containsExactly(3, 2);
            assertThat(f.tensorData(ta).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(a);
            assertThat(f.tensor("b").dataOffset() % 64).isZero();
        }
    }

    @Test
    void badMagic() throws IOException {
        Path p = write("m.gguf", "GGML0000000000000000000000".getBytes());
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufException.class)
                .hasMessageContaining(p.toString()).hasMessageContaining("bad magic").hasMessageContaining("offset 0");
    }

    @Test
    void unsupportedVersion() throws IOException {
        Path p = write("v.gguf", new RawGguf().header(7, 0, 0).bytes());
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufException.class).hasMessageContaining("unsupported GGUF version 7");
    }

    @Test
    void version2IsAccepted() throws IOException {
        Path p = write("v2.gguf", new RawGguf().header(2, 0, 1).kvString("general.architecture", "llama").bytes());
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.version()).isEqualTo(2);
        }
    }

    @Test
    void truncatedHeader() throws IOException {
        byte[] full = new RawGguf().header(3, 0, 1).kvString("general.architecture", "llama").bytes();
        Path p = write("t.gguf", java.util.Arrays.copyOf(full, full.length - 3));
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufException.class).hasMessageContaining("truncated");
        Path empty = write("e.gguf", new byte[0]);
        assertThatThrownBy(() -> GgufFile.open(empty)).isInstanceOf(GgufException.class).hasMessageContaining("truncated");
    }

    @Test
    void tensorDataOutOfBounds() throws IOException {
        byte[] b = new RawGguf().header(3, 1, 0).tensor("w", new long[]{64}, 0, 0).align(32).zeros(100).bytes();
        Path p = write("oob.gguf", b);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufException.class)
                .hasMessageContaining("'w'").hasMessageContaining("beyond the end of the file");
    }

    @Test
    void overlappingTensors() throws IOException {
        byte[] b = new RawGguf().header(3, 2, 0).tensor("a", new long[]{16}, 0, 0).tensor("b", new long[]{16}, 0, 32)
                .align(32).zeros(256).bytes();
        Path p = write("ov.gguf", b);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufException.class).hasMessageContaining("overlaps");
    }

    @Test
    void unknownTensorType() throws IOException {
        byte[] b = new RawGguf().header(3, 1, 0).tensor("w", new long[]{32}, 99, 0).align(32).zeros(256).bytes();
        Path p = write("ut.gguf", b);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufException.class)
                .hasMessageContaining("'w'").hasMessageContaining("unknown tensor type 99");
    }

    @Test
    void shapeTypeMismatch() throws IOException {
        byte[] b = new RawGguf().header(3, 1, 0).tensor("w", new long[]{33, 2}, GgmlType.Q4_0.id, 0).align(32).zeros(256).bytes();
        Path p = write("st.gguf", b);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufException.class)
                .hasMessageContaining("'w'").hasMessageContaining("shape/type mismatch");
    }

    @Test
    void dimensionsWhoseProductOverflowsNameTheFile() throws IOException {
        long big = 1L << 40;
        byte[] b = new RawGguf().header(3, 1, 0).tensor("w", new long[]{big, big, big}, 0, 0).align(32).zeros(64).bytes();
        Path p = write("ovf.gguf", b);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufException.class)
                .hasMessageStartingWith(p.toString()).hasMessageContaining("'w'").hasMessageContaining("absurd element count");
    }

    @Test
    void corruptedNamesAreEscapedInMessages() throws IOException {
        String evil = "blk.0\u001b[2J\u0007\u202e" + "x".repeat(200);
        byte[] b = new RawGguf().header(3, 1, 0).tensor(evil, new long[]{32}, 99, 0).align(32).zeros(64).bytes();
        Path p = write("esc.gguf", b);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufException.class)
                .hasMessageContaining("blk.0\\u001b[2J\\u0007\\u202e").hasMessageContaining("(211 chars)")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\u001b").doesNotContain("\u0007").doesNotContain("\u202e"));
    }

    @Test
    void absurdArrayLength() throws IOException {
        byte[] b = new RawGguf().header(3, 0, 1).str("k").u32(GgufValueType.ARRAY.id).u32(GgufValueType.UINT64.id)
                .u64(1L << 50).bytes();
        Path p = write("al.gguf", b);
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufException.class).hasMessageContaining("'k'");
    }

    @Test
    void missingRequiredMetadataAndUnknownArchitecture() throws IOException {
        Path p = dir.resolve("nometa.gguf");
        new GgufWriter().putString("general.architecture", "llama")
                .addTensor("token_embd.weight", GgmlType.F32, new long[]{4, 8}, new byte[4 * 4 * 8]).write(p);
        assertThatThrownBy(() -> Model.open(p)).isInstanceOf(GgufException.class)
                .hasMessageContaining(p.toString()).hasMessageContaining("missing required metadata 'llama.embedding_length'");
        Path q = dir.resolve("arch.gguf");
        new GgufWriter().putString("general.architecture", "gpt-neo")
                .addTensor("token_embd.weight", GgmlType.F32, new long[]{4, 8}, new byte[4 * 4 * 8]).write(q);
        assertThatThrownBy(() -> Model.open(q)).isInstanceOf(GgufException.class).hasMessageContaining("unknown architecture 'gpt-neo'");
    }

    @Test
    void missingFile() {
        assertThatThrownBy(() -> GgufFile.open(dir.resolve("nope.gguf"))).isInstanceOf(GgufException.class).hasMessageContaining("no such file");
    }

    /** A tensor whose data lies beyond 2 GiB (sparse file) is mapped and read correctly. */
    @Test
    void filesLargerThan2GiB() throws IOException {
        long offset = (3L << 30); // 3 GiB into the data section
        byte[] head = new RawGguf().header(3, 1, 0).tensor("far", new long[]{8}, GgmlType.F32.id, offset).align(32).bytes();
        Path p = dir.resolve("big.gguf");
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            raf.write(head);
            raf.setLength(head.length + offset + 32);
            raf.seek(head.length + offset);
            raf.write(new byte[]{0, 0, (byte) 0x80, 0x3f}); // 1.0f little-endian
        }
        try (GgufFile f = GgufFile.open(p)) {
            MemorySegment s = f.tensorData(f.tensor("far"));
            assertThat(s.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 0)).isEqualTo(1.0f);
            assertThat(f.dataStart() + f.tensor("far").dataOffset()).isGreaterThan(Integer.MAX_VALUE);
        }
    }
}
