package io.stride.core.tokenizer;

import io.stride.core.gguf.GgufException;
import io.stride.core.gguf.GgufMetadata;

import java.util.HashSet;
import java.util.Set;

/** Builds the tokenizer a GGUF file describes in its {@code tokenizer.ggml.*} metadata. */
public final class Tokenizers {
    private Tokenizers() {}

    public static Tokenizer fromMetadata(GgufMetadata m, String file, int modelVocab) {
        String model = m.string("tokenizer.ggml.model");
        String[] tokens = m.stringArray("tokenizer.ggml.tokens");
        if (tokens.length == 0) {
            throw new GgufException(file + ": tokenizer.ggml.tokens is empty");
        }
        if (tokens.length > modelVocab) {
            throw new GgufException(file + ": tokenizer has " + tokens.length + " tokens but the model's embedding only "
                    + modelVocab);
        }
        float[] scores = m.has("tokenizer.ggml.scores") ? m.floatArray("tokenizer.ggml.scores") : null;
        if (scores != null && scores.length != tokens.length) {
            throw new GgufException(file + ": tokenizer.ggml.scores has " + scores.length + " entries for " + tokens.length + " tokens");
        }
        int[] types;
        if (m.has("tokenizer.ggml.token_type")) {
            types = m.intArray("tokenizer.ggml.token_type");
            if (types.length != tokens.length) {
                throw new GgufException(file + ": tokenizer.ggml.token_type has " + types.length + " entries for " + tokens.length + " tokens");
            }
        } else {
            types = new int[tokens.length];
            java.util.Arrays.fill(types, TokenType.NORMAL);
        }
        boolean spm = model.equals("llama");
        boolean bpe = model.equals("gpt2");
        if (!spm && !bpe) {
            throw new GgufException(file + ": unsupported tokenizer model '" + model + "' (supported: llama, gpt2)");
        }
        int bos = tokenId(m, file, "tokenizer.ggml.bos_token_id", spm ? 1 : -1, tokens.length);
        int eos = tokenId(m, file, "tokenizer.ggml.eos_token_id", spm ? 2 : -1, tokens.length);
        int unk = tokenId(m, file, "tokenizer.ggml.unknown_token_id", spm ? 0 : -1, tokens.length);
        Set<Integer> eog = new HashSet<>();
        for (String key : new String[]{"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
            int id = tokenId(m, file, key, -1, tokens.length);
            if (id >= 0) {
                eog.add(id);
            }
        }
        boolean addBos = m.bool("tokenizer.ggml.add_bos_token", spm);
        boolean addEos = m.bool("tokenizer.ggml.add_eos_token", false);
        if (addBos && bos < 0) {
            throw new GgufException(file + ": tokenizer.ggml.add_bos_token is set but there is no bos_token_id");
        }
        Vocabulary vocab = new Vocabulary(tokens, scores, types, bos, eos, unk, addBos, addEos, eog);
        if (spm) {
            return new SentencePieceTokenizer(vocab, m.bool("tokenizer.ggml.add_space_prefix", true));
        }
        String[] merges = m.stringArray("tokenizer.ggml.merges");
        String preName = m.string("tokenizer.ggml.pre", "default");
        PreTokenizer pre = PreTokenizer.byName(preName);
        if (pre == null) {
            throw new GgufException(file + ": unknown pre-tokenizer '" + preName + "' in tokenizer.ggml.pre");
        }
        return new BytePairTokenizer(vocab, merges, pre);
    }

    /** A token id from metadata; absent or the "none" marker (-1 / 0xFFFFFFFF) gives {@code def}. */
    private static int tokenId(GgufMetadata m, String file, String key, int def, int vocab) {
        if (!m.has(key)) {
            return def < vocab ? def : -1;
        }
        long v = m.integer(key);
        if (v == -1 || v == 0xFFFFFFFFL) {
            return -1;
        }
        if (v < 0 || v >= vocab) {
            throw new GgufException(file + ": " + key + " = " + v + " is outside the vocabulary of " + vocab + " tokens");
        }
        return (int) v;
    }
}
