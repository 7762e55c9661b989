package io.stride.core.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Byte-level BPE ({@code tokenizer.ggml.model = gpt2}): special tokens, then the pre-tokenizer's words, each
 * mapped to byte-level characters and merged by rank of {@code tokenizer.ggml.merges}.
 */
public final class BytePairTokenizer implements Tokenizer {
    private final Vocabulary vocab;
    private final PreTokenizer pre;
    private final Map<String, Integer> mergeRanks;
    private final SpecialTokenSplitter splitter;
    private final byte[][] pieces;

    public BytePairTokenizer(Vocabulary vocab, String[] merges, PreTokenizer pre) {
        this.vocab = vocab;
        this.pre = pre;
        this.mergeRanks = new HashMap<>(merges.length * 2);
        for (int i = 0; i < merges.length; i++) {
            String m = merges[i];
            int sp = m.indexOf(' ', 1);
            if (sp < 0) {
                continue;
            }
            mergeRanks.putIfAbsent(m.substring(0, sp) + '\u0000' + m.substring(sp + 1), i);
        }
        this.splitter = new SpecialTokenSplitter(vocab);
        pieces = new byte[vocab.size()][];
        for (int i = 0; i < vocab.size(); i++) {
            pieces[i] = pieceBytes(i);
        }
    }

    private byte[] pieceBytes(int id) {
        String t = vocab.token(id);
        return switch (vocab.type(id)) {
            case TokenType.CONTROL, TokenType.UNUSED -> new byte[0];
            case TokenType.USER_DEFINED -> t.getBytes(StandardCharsets.UTF_8);
            default -> {
                byte[] b = ByteLevel.decode(t);
                yield b != null ? b : t.getBytes(StandardCharsets.UTF_8);
            }
        };
    }

    public PreTokenizer preTokenizer() {
        return pre;
    }

    @Override
    public Vocabulary vocabulary() {
        return vocab;
    }

    @Override
    public byte[] tokenBytes(int id) {
        return pieces[id];
    }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        List<Integer> out = new ArrayList<>();
        if (addSpecial && vocab.addBos() && vocab.bos() >= 0) {
            out.add(vocab.bos());
        }
        for (SpecialTokenSplitter.Fragment f : splitter.split(text, parseSpecial)) {
            if (f.isToken()) {
                out.add(f.token());
                continue;
            }
            for (String word : pre.split(f.text())) {
                encodeWord(ByteLevel.encode(word.getBytes(StandardCharsets.UTF_8)), out);
            }
        }
        if (addSpecial && vocab.addEos() && vocab.eos() >= 0) {
            out.add(vocab.eos());
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private void encodeWord(String word, List<Integer> out) {
        if (pre.ignoreMerges()) {
            int id = vocab.id(word);
            if (id >= 0) {
                out.add(id);
                return;
            }
        }
        Session s = new Session();
        if (s.mergeWord(word) < 0) {
            return;
        }
        for (int sym = 0; sym >= 0; sym = s.nextOf(sym)) {
            String piece = s.textOf(sym);
            int id = vocab.id(piece);
            if (id >= 0) {
                out.add(id);
            } else {
                for (int i = 0; i < piece.length(); i++) {
                    int c = vocab.id(String.valueOf(piece.charAt(i)));
                    out.add(c >= 0 ? c : Math.max(vocab.unk(), 0));
                }
            }
        }
    }

    private final class Session extends SymbolMerger {
        @Override
        protected double rank(String merged, String left, String right) {
            Integer r = mergeRanks.get(left + '\u0000' + right);
            return r == null ? Double.NaN : r;
        }

        int mergeWord(String w) {
            return merge(w);
        }

        int nextOf(int s) {
            return next[s];
        }

        String textOf(int s) {
            return text(s);
        }
    }
}
