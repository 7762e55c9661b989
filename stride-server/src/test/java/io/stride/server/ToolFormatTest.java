package io.stride.server;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Reading tool calls out of model output, whole and streamed, in the Hermes, Mistral and Llama 3 formats. */
class ToolFormatTest {
    @Test
    void formatsAreReadOffTemplates() {
        assertThat(ToolFormat.of(io.stride.core.tools.ChatTemplates.get("qwen-2.5"))).isEqualTo(ToolFormat.HERMES);
        assertThat(ToolFormat.of(io.stride.core.tools.ChatTemplates.get("hermes-3"))).isEqualTo(ToolFormat.HERMES);
        assertThat(ToolFormat.of(io.stride.core.tools.ChatTemplates.get("mistral-nemo"))).isEqualTo(ToolFormat.MISTRAL);
        assertThat(ToolFormat.of(io.stride.core.tools.ChatTemplates.get("llama-3.2"))).isEqualTo(ToolFormat.LLAMA3);
        assertThat(ToolFormat.of(null)).isEqualTo(ToolFormat.HERMES);
    }

    @Test
    void hermesCallsAfterContent() {
        var p = ToolFormat.HERMES.parse("Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"
                + "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 2, \"b\": 3}}\n</tool_call>");
        assertThat(p.content()).isEqualTo("Let me check.");
        assertThat(p.calls()).extracting(ToolFormat.ToolCall::name).containsExactly("get_weather", "add");
        assertThat(p.calls()).extracting(ToolFormat.ToolCall::arguments).containsExactly("{\"city\":\"Paris\"}", "{\"a\":2,\"b\":3}");
        assertThat(p.calls().get(0).id()).startsWith("call_").hasSize(29).isNotEqualTo(p.calls().get(1).id());
        // a call cut off by the end of output still counts when its JSON is whole
        assertThat(ToolFormat.HERMES.parse("<tool_call>{\"name\": \"f\", \"arguments\": {}}").calls()).hasSize(1);
    }

    @Test
    void brokenCallsStayText() {
        String broken = "<tool_call>\n{\"name\": \"f\", \"arguments\": {\n</tool_call>";
        assertThat(ToolFormat.HERMES.parse(broken).calls()).isEmpty();
        assertThat(ToolFormat.HERMES.parse(broken).content()).isEqualTo(broken);
        assertThat(ToolFormat.HERMES.parse("no calls here").content()).isEqualTo("no calls here");
        // cut off by max_tokens after whole calls: the whole calls stand
        assertThat(ToolFormat.HERMES.parse("<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"g\", \"argu")
                .calls()).extracting(ToolFormat.ToolCall::name).containsExactly("f");
        assertThat(ToolFormat.LLAMA3.parse("{\"no\": \"name\"}").calls()).isEmpty();
        assertThat(ToolFormat.MISTRAL.parse("[1, 2]").calls()).isEmpty();
    }

    @Test
    void mistralCallsWithAndWithoutTheMarker() {
        var p = ToolFormat.MISTRAL.parse("[TOOL_CALLS][{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}, {\"name\": \"f\", \"arguments\": {}}]");
        assertThat(p.content()).isNull();
        assertThat(p.calls()).extracting(ToolFormat.ToolCall::name).containsExactly("add", "f");
        assertThat(p.calls().get(0).id()).matches("[A-Za-z0-9]{9}");
        assertThat(ToolFormat.MISTRAL.parse(" [{\"name\": \"add\", \"arguments\": {}}]").calls()).hasSize(1);
    }

    @Test
    void llama3CallsBareOrAfterPythonTag() {
        var p = ToolFormat.LLAMA3.parse("{\"name\": \"add\", \"parameters\": {\"a\": 1, \"b\": 2}}");
        assertThat(p.calls()).singleElement().satisfies(c -> {
            assertThat(c.name()).isEqualTo("add");
            assertThat(c.arguments()).isEqualTo("{\"a\":1,\"b\":2}");
        });
        assertThat(ToolFormat.LLAMA3.parse("<|python_tag|>{\"name\": \"f\", \"parameters\": {}}; {\"name\": \"g\", \"parameters\": {\"x\": 1}}").calls())
                .extracting(ToolFormat.ToolCall::name).containsExactly("f", "g");
        assertThat(ToolFormat.LLAMA3.parse("The answer is 4.").calls()).isEmpty();
    }

    /** Streams {@code text} in pieces of {@code step} characters; returns the content and the calls' names. */
    private static List<String> stream(ToolFormat f, String text, int step, boolean parallel) {
        ToolCallStream s = new ToolCallStream(f, parallel);
        List<ToolCallStream.Piece> pieces = new ArrayList<>();
        for (int i = 0; i < text.length(); i += step) pieces.addAll(s.add(text.substring(i, Math.min(text.length(), i + step))));
        pieces.addAll(s.finish());
        StringBuilder content = new StringBuilder();
        List<String> out = new ArrayList<>();
        for (ToolCallStream.Piece p : pieces) {
            switch (p) {
                case ToolCallStream.Content c -> content.append(c.text());
                case ToolCallStream.Call c -> out.add(c.index() + ":" + c.call().name() + c.call().arguments());
            }
        }
        out.addFirst(content.toString());
        return out;
    }

    @Test
    void streamingGivesTheSameSplitWhateverThePieces() {
        String hermes = "Sure.<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": 1}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": {}}\n</tool_call>";
        for (int step : new int[] {1, 2, 3, 7, 1000}) {
            assertThat(stream(ToolFormat.HERMES, hermes, step, true)).containsExactly("Sure.", "0:a{\"x\":1}", "1:b{}");
            assertThat(stream(ToolFormat.HERMES, hermes, step, false)).containsExactly("Sure.", "0:a{\"x\":1}");
            assertThat(stream(ToolFormat.HERMES, "a < b and <tool_ isn't a call", step, true)).containsExactly("a < b and <tool_ isn't a call");
            assertThat(stream(ToolFormat.LLAMA3, " {\"name\": \"f\", \"parameters\": {\"q\": \"x\"}}", step, true)).containsExactly("", "0:f{\"q\":\"x\"}");
            assertThat(stream(ToolFormat.LLAMA3, "{not json}", step, true)).containsExactly("{not json}");
            assertThat(stream(ToolFormat.MISTRAL, "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}}]", step, true)).containsExactly("", "0:f{}");
            assertThat(stream(ToolFormat.MISTRAL, "Plain [text]", step, true)).containsExactly("Plain [text]");
        }
    }

    @Test
    void contentBeforeAMarkerIsNotHeldBack() {
        ToolCallStream s = new ToolCallStream(ToolFormat.HERMES, true);
        assertThat(s.add("Hello wor")).containsExactly(new ToolCallStream.Content("Hello wor"));
        assertThat(s.add("ld <tool")).containsExactly(new ToolCallStream.Content("ld "));
        assertThat(s.add("_call>")).isEmpty();
    }
}
