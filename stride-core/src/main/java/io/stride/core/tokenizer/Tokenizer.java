package io.stride.core.tokenizer;

/** Text to token ids and token ids to bytes. Implementations are immutable and thread-safe. */
public interface Tokenizer {
    /**
     * Encodes {@code text}.
     *
     * @param addSpecial   add BOS/EOS as the model's metadata asks
     * @param parseSpecial recognise special tokens (e.g. {@code <|endoftext|>}) written in the text
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    default int[] encode(String text) {
        return encode(text, true, true);
    }

    /** The bytes a token stands for in generated text (control tokens: none). */
    byte[] tokenBytes(int id);

    Vocabulary vocabulary();

    /** Decodes a whole sequence (invalid UTF-8 becomes U+FFFD). */
    default String decode(int[] ids) {
        StreamingDecoder d = new StreamingDecoder(this);
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(d.next(id));
        }
        sb.append(d.flush());
        return sb.toString();
    }
}
