package io.stride.core.tools;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Published chat templates bundled for synthetic models (so tool calling can be tested on random weights with a
 * real template): the files as the models' Hugging Face repositories publish them, taken from llama.cpp's
 * {@code models/templates} (fetched there by its {@code scripts/get_chat_template.py}).
 */
public final class ChatTemplates {
    private ChatTemplates() {}

    /** Name → resource file. */
    private static final Map<String, String> FILES = new LinkedHashMap<>();

    static {
        FILES.put("llama-3.2", "meta-llama-Llama-3.2-3B-Instruct.jinja");
        FILES.put("qwen-2.5", "Qwen-Qwen2.5-7B-Instruct.jinja");
        FILES.put("mistral-nemo", "mistralai-Mistral-Nemo-Instruct-2407.jinja");
        FILES.put("hermes-3", "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja");
    }

    /** The bundled templates' names. */
    public static Iterable<String> names() {
        return FILES.keySet();
    }

    /** The resource file of template {@code name}, or null when none is bundled under it. */
    public static String file(String name) {
        return FILES.get(name);
    }

    /** The text of bundled template {@code name}. */
    public static String get(String name) {
        String file = FILES.get(name);
        if (file == null) throw new IllegalArgumentException("no bundled chat template '" + name + "' (bundled: " + String.join(", ", FILES.keySet()) + ")");
        try (InputStream in = ChatTemplates.class.getResourceAsStream("chat-templates/" + file)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The template a real model of preset {@code p} ships with, or null for the test presets. */
    public static String forPreset(SynthPreset p) {
        return switch (p.name()) {
            case "llama-3.2-1b" -> get("llama-3.2");
            case "qwen2.5-0.5b" -> get("qwen-2.5");
            default -> null;
        };
    }
}
