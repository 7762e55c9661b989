package io.stride.core.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An open GGUF file: its metadata, tensor directory and the memory-mapped tensor data.
 * The whole file is mapped with the FFM API, so files larger than 2 GiB work.
 */
public final class GgufFile implements AutoCloseable {
    public static final int MAGIC = 0x46554747; // "GGUF" little-endian
    public static final int DEFAULT_ALIGNMENT = 32;

    private final Path path;
    private final int version;
    private final Map<String, GgufValue> metadata;
    private final Map<String, GgufTensorInfo> tensors;
    private final long dataStart;
    private final MemorySegment mapping;
    private final Arena arena;

    private GgufFile(Path path, int version, Map<String, GgufValue> metadata, Map<String, GgufTensorInfo> tensors,
                     long dataStart, MemorySegment mapping, Arena arena) {
        this.path = path;
        this.version = version;
        this.metadata = metadata;
        this.tensors = tensors;
        this.dataStart = dataStart;
        this.mapping = mapping;
        this.arena = arena;
    }

    /** Opens and validates {@code path}; throws {@link GgufException} with a clear message when it is not a valid GGUF file. */
    public static GgufFile open(Path path) {
        if (!Files.exists(path)) {
            throw new GgufException(path + ": no such file");
        }
        if (!Files.isRegularFile(path)) {
            throw new GgufException(path + ": not a regular file");
        }
        Arena arena = Arena.ofShared();
        try {
            MemorySegment seg;
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            }
            GgufFile f = parse(path, seg, arena);
            return f;
        } catch (NoSuchFileException e) {
            arena.close();
            throw new GgufException(path + ": no such file");
        } catch (IOException e) {
            arena.close();
            throw new GgufException(path + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static GgufFile parse(Path path, MemorySegment seg, Arena arena) {
        GgufCursor c = new GgufCursor(path, seg);
        if (seg.byteSize() < 4) {
            throw new GgufException(path + ": truncated file (" + seg.byteSize() + " bytes): not a GGUF file");
        }
        int magic = c.i32();
        if (magic != MAGIC) {
            throw new GgufException(String.format("%s: bad magic 0x%08x at offset 0: not a GGUF file", path, magic));
        }
        int version = c.i32();
        if (version != 2 && version != 3) {
            throw new GgufException(path + ": unsupported GGUF version " + Integer.toUnsignedString(version)
                    + " at offset 4 (supported: 2, 3)");
        }
        long tensorCount = c.u64("tensor count");
        long kvCount = c.u64("metadata count");
        if (kvCount > c.remaining() / 12 || tensorCount > c.remaining() / 24) {
            throw new GgufException(path + ": header claims " + kvCount + " metadata entries and " + tensorCount
                    + " tensors, more than the file's " + seg.byteSize() + " bytes can hold");
        }
        Map<String, GgufValue> meta = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long at = c.position();
            String key = c.string("metadata key");
            long typeAt = c.position();
            long typeId = c.u32();
            GgufValueType type = GgufValueType.byId(typeId);
            if (type == null) {
                throw new GgufException(path + ": metadata " + Printable.quote(key) + " has unknown value type " + typeId + " at offset " + typeAt);
            }
            GgufValue v = c.value(type, key, 0);
            if (meta.putIfAbsent(key, v) != null) {
                throw new GgufException(path + ": duplicate metadata key " + Printable.quote(key) + " at offset " + at);
            }
        }
        long alignment = DEFAULT_ALIGNMENT;
        GgufValue al = meta.get("general.alignment");
        if (al != null) {
            if (!al.type().isInteger() || (long) al.value() <= 0 || Long.bitCount((long) al.value()) != 1) {
                throw new GgufException(path + ": general.alignment must be a positive power of two, found " + al.describe());
            }
            alignment = (long) al.value();
        }
        List<GgufTensorInfo> infos = new ArrayList<>();
        Map<String, GgufTensorInfo> byName = new LinkedHashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            long at = c.position();
            String name = c.string("tensor name");
            long nDims = c.u32();
            if (nDims < 1 || nDims > 4) {
                throw new GgufException(path + ": tensor " + Printable.quote(name) + " at offset " + at + " has " + nDims + " dimensions (1..4 allowed)");
            }
            long[] dims = new long[(int) nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                dims[d] = c.u64("tensor dimension");
                if (dims[d] <= 0 || dims[d] > (1L << 40)) {
                    throw new GgufException(path + ": tensor " + Printable.quote(name) + " has invalid dimension " + d + " = " + dims[d]);
                }
                if (elements > (1L << 42) / dims[d]) {
                    throw new GgufException(path + ": tensor " + Printable.quote(name) + " has an absurd element count (over 2^42)");
                }
                elements *= dims[d];
            }
            long typeAt = c.position();
            long typeId = c.u32();
            GgmlType type = GgmlType.byId(typeId);
            if (type == null) {
                throw new GgufException(path + ": tensor " + Printable.quote(name) + " has unknown tensor type " + typeId + " at offset " + typeAt);
            }
            if (dims[0] % type.blockSize != 0) {
                throw new GgufException(path + ": tensor " + Printable.quote(name) + " of type " + type + " has row length " + dims[0]
                        + ", not a multiple of the block size " + type.blockSize + " (shape/type mismatch)");
            }
            long off = c.u64("tensor offset");
            if (off % alignment != 0) {
                throw new GgufException(path + ": tensor " + Printable.quote(name) + " data offset " + off + " is not a multiple of the alignment " + alignment);
            }
            GgufTensorInfo info = new GgufTensorInfo(name, type, dims, off);
            if (byName.putIfAbsent(name, info) != null) {
                throw new GgufException(path + ": duplicate tensor name " + Printable.quote(name) + " at offset " + at);
            }
            infos.add(info);
        }
        long dataStart = align(c.position(), alignment);
        long dataBytes = seg.byteSize() - dataStart;
        if (tensorCount > 0 && dataBytes < 0) {
            throw new GgufException(path + ": truncated file: tensor data would start at offset " + dataStart
                    + " but the file has only " + seg.byteSize() + " bytes");
        }
        List<GgufTensorInfo> sorted = new ArrayList<>(infos);
        sorted.sort(Comparator.comparingLong(GgufTensorInfo::dataOffset));
        long prevEnd = 0;
        String prevName = null;
        for (GgufTensorInfo t : sorted) {
            long end = t.dataOffset() + t.byteSize();
            if (end > dataBytes || end < 0) {
                throw new GgufException(path + ": tensor " + Printable.quote(t.name()) + " data [" + (dataStart + t.dataOffset()) + ", "
                        + (dataStart + end) + ") lies beyond the end of the file (" + seg.byteSize() + " bytes): truncated file or bad offset");
            }
            if (t.dataOffset() < prevEnd) {
                throw new GgufException(path + ": tensor " + Printable.quote(t.name()) + " data at offset " + (dataStart + t.dataOffset())
                        + " overlaps tensor " + Printable.quote(prevName) + "");
            }
            prevEnd = end;
            prevName = t.name();
        }
        return new GgufFile(path, version, Collections.unmodifiableMap(meta), Collections.unmodifiableMap(byName),
                dataStart, seg, arena);
    }

    static long align(long x, long alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    public Map<String, GgufTensorInfo> tensors() {
        return tensors;
    }

    public long dataStart() {
        return dataStart;
    }

    public GgufMetadata meta() {
        return new GgufMetadata(path, metadata);
    }

    /** The mapped bytes of a tensor's data. */
    public MemorySegment tensorData(GgufTensorInfo t) {
        return mapping.asSlice(dataStart + t.dataOffset(), t.byteSize());
    }

    /** The mapped bytes before the tensor data: header, metadata and tensor table. */
    public MemorySegment headerBytes() {
        return mapping.asSlice(0, dataStart);
    }

    /** Size of the file in bytes. */
    public long byteSize() {
        return mapping.byteSize();
    }

    public GgufTensorInfo tensor(String name) {
        return tensors.get(name);
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
