package io.stride.core.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * SentencePiece-style tokenizer ({@code tokenizer.ggml.model = llama}): spaces become U+2581, an optional
 * space prefix, greedy merges by token score, and {@code <0xXX>} byte tokens for anything not in the
 * vocabulary. Follows llama.cpp's SPM tokenizer.
 */
public final class SentencePieceTokenizer implements Tokenizer {
    private static final String SPACE = "\u2581";
    private final Vocabulary vocab;
    private final boolean addSpacePrefix;
    private final SpecialTokenSplitter splitter;
    private final int[] byteTokens = new int[256];
    private final byte[][] pieces;

    public SentencePieceTokenizer(Vocabulary vocab, boolean addSpacePrefix) {
        this.vocab = vocab;
        this.addSpacePrefix = addSpacePrefix;
        this.splitter = new SpecialTokenSplitter(vocab);
        for (int b = 0; b < 256; b++) {
            byteTokens[b] = vocab.id(String.format("<0x%02X>", b));
        }
        pieces = new byte[vocab.size()][];
        for (int i = 0; i < vocab.size(); i++) {
            pieces[i] = pieceBytes(i);
        }
    }

    private byte[] pieceBytes(int id) {
        String t = vocab.token(id);
        return switch (vocab.type(id)) {
            case TokenType.BYTE -> {
                if (t.length() == 6 && t.startsWith("<0x") && t.endsWith(">")) {
                    try {
                        yield new byte[]{(byte) Integer.parseInt(t.substring(3, 5), 16)};
                    } catch (NumberFormatException e) {
                        yield t.getBytes(StandardCharsets.UTF_8);
                    }
                }
                yield t.getBytes(StandardCharsets.UTF_8);
            }
            case TokenType.CONTROL, TokenType.UNUSED -> new byte[0];
            case TokenType.UNKNOWN -> "\u2585".getBytes(StandardCharsets.UTF_8);
            default -> t.replace(SPACE, " ").getBytes(StandardCharsets.UTF_8);
        };
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
        boolean prevSpecial = true;
        for (SpecialTokenSplitter.Fragment f : splitter.split(text, parseSpecial)) {
            if (f.isToken()) {
                out.add(f.token());
                prevSpecial = true;
                continue;
            }
            String s = (addSpacePrefix && prevSpecial ? " " : "") + f.text();
            new Session().tokenize(s.replace(" ", SPACE), out);
            prevSpecial = false;
        }
        if (addSpecial && vocab.addEos() && vocab.eos() >= 0) {
            out.add(vocab.eos());
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** One word's merge state; remembers which pair produced each merged text, to split unknown merges back. */
    private final class Session extends SymbolMerger {
        private final Map<String, String[]> revMerge = new HashMap<>();

        @Override
        protected double rank(String merged, String left, String right) {
            int id = vocab.id(merged);
            if (id < 0) {
                return Double.NaN;
            }
            revMerge.putIfAbsent(merged, new String[]{left, right});
            return -vocab.score(id); // higher score merges first
        }

        void tokenize(String text, List<Integer> out) {
            if (merge(text) < 0) {
                return;
            }
            for (int s = 0; s >= 0; s = next[s]) {
                resegment(text(s), out);
            }
        }

        private void resegment(String piece, List<Integer> out) {
            int id = vocab.id(piece);
            if (id >= 0) {
                out.add(id);
                return;
            }
            String[] parts = revMerge.get(piece);
            if (parts != null) {
                resegment(parts[0], out);
                resegment(parts[1], out);
                return;
            }
            for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                int t = byteTokens[b & 0xff];
                out.add(t >= 0 ? t : vocab.unk());
            }
        }
    }
}
