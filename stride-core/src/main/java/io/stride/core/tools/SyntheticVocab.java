package io.stride.core.tools;

import io.stride.core.gguf.GgufWriter;
import io.stride.core.tokenizer.ByteLevel;
import io.stride.core.tokenizer.TokenType;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/** A valid, deterministic tokenizer section of a given size (SentencePiece or byte-level BPE with merges). */
final class SyntheticVocab {
    private SyntheticVocab() {}

    static void write(GgufWriter w, SynthPreset p) {
        if (p.tokenizer().equals("llama")) {
            sentencePiece(w, p.vocab());
        } else {
            bytePair(w, p.vocab(), p.pre(), p.arch().equals("qwen2"));
        }
    }

    private static void sentencePiece(GgufWriter w, int vocab) {
        String[] tokens = new String[vocab];
        float[] scores = new float[vocab];
        int[] types = new int[vocab];
        tokens[0] = "<unk>";
        types[0] = TokenType.UNKNOWN;
        tokens[1] = "<s>";
        types[1] = TokenType.CONTROL;
        tokens[2] = "</s>";
        types[2] = TokenType.CONTROL;
        for (int b = 0; b < 256; b++) {
            tokens[3 + b] = String.format("<0x%02X>", b);
            types[3 + b] = TokenType.BYTE;
        }
        Set<String> seen = new HashSet<>();
        List<String> pieces = new ArrayList<>();
        String alphabet = "\u2581abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"()-";
        for (char c : alphabet.toCharArray()) {
            pieces.add(String.valueOf(c));
            seen.add(String.valueOf(c));
        }
        SplittableRandom r = new SplittableRandom(7);
        int next = 259;
        for (String s : pieces) {
            tokens[next] = s;
            types[next] = TokenType.NORMAL;
            scores[next] = -next;
            next++;
        }
        while (next < vocab) {
            String a = tokens[259 + r.nextInt(next - 259)];
            String b = tokens[259 + r.nextInt(Math.min(next - 259, 2000))];
            String s = a + b;
            if (s.length() > 16 || !seen.add(s)) {
                continue;
            }
            tokens[next] = s;
            types[next] = TokenType.NORMAL;
            scores[next] = -next;
            next++;
        }
        w.putString("tokenizer.ggml.model", "llama")
                .putStrings("tokenizer.ggml.tokens", tokens)
                .putFloats("tokenizer.ggml.scores", scores)
                .putInts("tokenizer.ggml.token_type", types)
                .putUInt32("tokenizer.ggml.bos_token_id", 1)
                .putUInt32("tokenizer.ggml.eos_token_id", 2)
                .putUInt32("tokenizer.ggml.unknown_token_id", 0)
                .putBool("tokenizer.ggml.add_bos_token", true);
    }

    private static void bytePair(GgufWriter w, int vocab, String pre, boolean qwen) {
        int specials = qwen ? 22 : 256;
        int regular = vocab - specials;
        String[] tokens = new String[vocab];
        int[] types = new int[vocab];
        List<String> merges = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (int b = 0; b < 256; b++) {
            tokens[b] = ByteLevel.encode(new byte[]{(byte) b});
            seen.add(tokens[b]);
        }
        SplittableRandom r = new SplittableRandom(11);
        int next = 256;
        while (next < regular) {
            String a = tokens[r.nextInt(next)];
            String b = tokens[r.nextInt(Math.min(next, 4096))];
            String s = a + b;
            if (s.length() > 16 || !seen.add(s)) {
                continue;
            }
            tokens[next++] = s;
            merges.add(a + " " + b);
        }
        for (int i = 0; i < regular; i++) {
            types[i] = TokenType.NORMAL;
        }
        int bos;
        int eos;
        if (qwen) {
            String[] names = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
            for (int i = 0; i < specials; i++) {
                tokens[regular + i] = i < names.length ? names[i] : "<|extra_" + i + "|>";
                types[regular + i] = TokenType.CONTROL;
            }
            bos = regular;
            eos = regular + 2;
        } else {
            for (int i = 0; i < specials; i++) {
                tokens[regular + i] = i == 0 ? "<|begin_of_text|>" : i == 1 ? "<|end_of_text|>" : "<|reserved_special_token_" + i + "|>";
                types[regular + i] = TokenType.CONTROL;
            }
            bos = regular;
            eos = regular + 1;
        }
        w.putString("tokenizer.ggml.model", "gpt2")
                .putString("tokenizer.ggml.pre", pre)
                .putStrings("tokenizer.ggml.tokens", tokens)
                .putInts("tokenizer.ggml.token_type", types)
                .putStrings("tokenizer.ggml.merges", merges.toArray(String[]::new))
                .putUInt32("tokenizer.ggml.bos_token_id", bos)
                .putUInt32("tokenizer.ggml.eos_token_id", eos)
                .putBool("tokenizer.ggml.add_bos_token", !qwen);
    }
}
