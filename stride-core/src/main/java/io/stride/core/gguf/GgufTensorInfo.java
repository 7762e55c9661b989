package io.stride.core.gguf;

import java.util.Arrays;

/**
 * A tensor's entry in a GGUF file. {@code dims[0]} is the innermost (row) length, as in ggml's ne[0].
 * {@code dataOffset} is relative to the start of the file's tensor data section.
 */
public record GgufTensorInfo(String name, GgmlType type, long[] dims, long dataOffset) {

    public long elementCount() {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    public long byteSize() {
        return type.bytesFor(elementCount());
    }

    public String shape() {
        return Arrays.toString(dims);
    }
}
