package io.stride.server;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Published chat templates (Llama 3.2 Instruct, Qwen 2.5 Instruct, Mistral Nemo Instruct, Hermes 3 tool use: the ones
 * bundled in the core's {@code ChatTemplates}) rendered by Stride and
 * compared byte for byte with {@code @huggingface/jinja} 0.5.11's output for the same inputs (expected.json, made by
 * render.mjs; see the README beside them). Cases the reference renderer itself fails on are listed in expected.json
 * as errors and skipped.
 */
class ChatTemplateReferenceTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void publishedTemplatesRenderAsHuggingFaceJinjaDoes() throws IOException {
        JsonNode cases = read("cases.json");
        JsonNode expected = read("expected.json");
        int compared = 0;
        List<String> mismatches = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> ts = cases.get("templates").fields(); ts.hasNext(); ) {
            var t = ts.next();
            String source = new String(io.stride.core.tools.ChatTemplates.class.getResourceAsStream("chat-templates/"
                    + t.getValue().get("file").asText()).readAllBytes(), StandardCharsets.UTF_8);
            ChatTemplate template = new ChatTemplate(source, t.getValue().get("bos_token").asText(),
                    t.getValue().get("eos_token").asText(), () -> LocalDate.of(2026, 12, 5));
            for (Iterator<Map.Entry<String, JsonNode>> cs = cases.get("conversations").fields(); cs.hasNext(); ) {
                var c = cs.next();
                JsonNode want = expected.get(t.getKey() + "/" + c.getKey());
                if (!want.isTextual()) continue;
                List<Map<String, Object>> messages = JSON.convertValue(c.getValue().get("messages"), new TypeReference<>() {});
                JsonNode set = c.getValue().get("tools");
                List<Object> tools = set.isNull() ? null : JSON.convertValue(cases.get("toolsets").get(set.asText()), new TypeReference<>() {});
                String got;
                try {
                    got = template.render(messages, tools, Map.of("date_string", cases.get("date").asText()));
                } catch (RuntimeException e) {
                    got = "failed: " + e.getMessage();
                }
                if (!got.equals(want.asText())) {
                    mismatches.add(t.getKey() + "/" + c.getKey() + "\n--- want\n" + want.asText() + "\n--- got\n" + got);
                }
                compared++;
            }
        }
        assertThat(mismatches).isEmpty();
        assertThat(compared).isGreaterThanOrEqualTo(17);
    }

    private static JsonNode read(String name) throws IOException {
        return JSON.readTree(text(name));
    }

    private static String text(String name) throws IOException {
        try (InputStream in = ChatTemplateReferenceTest.class.getResourceAsStream("/chat-templates/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
