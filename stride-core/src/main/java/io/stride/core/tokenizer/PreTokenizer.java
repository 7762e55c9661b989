package io.stride.core.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into words before BPE, by the regular expressions that {@code tokenizer.ggml.pre} names (as
 * llama.cpp does). Several expressions apply in turn, each splitting the pieces the previous one produced;
 * text between matches is kept as pieces too.
 */
public final class PreTokenizer {
    private static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    private static final String LLAMA3 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
            + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
            + "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String GPT2_NO_TAIL = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";

    private final String name;
    private final List<Pattern> patterns;
    /** whole words found in the vocabulary skip merging (HF ignore_merges, used by Llama 3) */
    private final boolean ignoreMerges;

    private PreTokenizer(String name, boolean ignoreMerges, String... regexes) {
        this.name = name;
        this.ignoreMerges = ignoreMerges;
        this.patterns = new ArrayList<>();
        for (String r : regexes) {
            patterns.add(Pattern.compile(r, Pattern.UNICODE_CHARACTER_CLASS));
        }
    }

    /** The pre-tokenizer called {@code name}, or null when unknown. */
    public static PreTokenizer byName(String name) {
        return switch (name) {
            case "gpt-2", "gpt2", "phi-2", "jina-es", "jina-de" -> new PreTokenizer(name, false, GPT2);
            case "llama-bpe", "llama3", "llama-v3", "falcon3", "smaug-bpe" -> new PreTokenizer(name, true, LLAMA3);
            case "qwen2", "deepseek-r1-qwen", "qwen3" -> new PreTokenizer(name, false, QWEN2);
            case "starcoder", "refact", "smollm", "codeshell", "command-r" -> new PreTokenizer(name, false, "\\p{N}", GPT2_NO_TAIL);
            case "default" -> new PreTokenizer(name, false, "[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2_NO_TAIL, "\\p{N}+", "[0-9][0-9][0-9]");
            default -> null;
        };
    }

    public String name() {
        return name;
    }

    boolean ignoreMerges() {
        return ignoreMerges;
    }

    public List<String> split(String text) {
        List<String> pieces = List.of(text);
        for (Pattern p : patterns) {
            List<String> next = new ArrayList<>();
            for (String piece : pieces) {
                Matcher m = p.matcher(piece);
                int last = 0;
                while (m.find()) {
                    if (m.end() == m.start()) {
                        continue;
                    }
                    if (m.start() > last) {
                        next.add(piece.substring(last, m.start()));
                    }
                    next.add(m.group());
                    last = m.end();
                }
                if (last < piece.length()) {
                    next.add(piece.substring(last));
                }
            }
            pieces = next;
        }
        return pieces;
    }
}
