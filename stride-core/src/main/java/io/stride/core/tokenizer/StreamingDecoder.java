package io.stride.core.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Turns a stream of token ids into text without ever splitting a UTF-8 character: bytes of an incomplete
 * character are held back until the tokens that complete it arrive.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    public StreamingDecoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Text that became complete with token {@code id} (possibly empty). */
    public String next(int id) {
        pending.writeBytes(tokenizer.tokenBytes(id));
        byte[] b = pending.toByteArray();
        int complete = completePrefix(b);
        pending.reset();
        pending.write(b, complete, b.length - complete);
        return new String(b, 0, complete, StandardCharsets.UTF_8);
    }

    /** Whatever is still held back (an incomplete character becomes U+FFFD). */
    public String flush() {
        byte[] b = pending.toByteArray();
        pending.reset();
        return new String(b, StandardCharsets.UTF_8);
    }

    /** Length of the longest prefix of {@code b} that does not end inside a UTF-8 character. */
    public static int completePrefix(byte[] b) {
        int n = b.length;
        // look back at most 3 bytes for the start of a multi-byte character
        for (int back = 1; back <= Math.min(4, n); back++) {
            int c = b[n - back] & 0xff;
            if ((c & 0xc0) == 0x80) {
                continue; // continuation byte
            }
            int need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
            if (c >= 0xf8 || c < 0x80 || back >= need) {
                return n; // ASCII, invalid lead, or complete character
            }
            return n - back;
        }
        return n; // only continuation bytes: invalid, emit as is
    }
}
