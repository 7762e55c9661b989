package io.stride.server;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Chat templates as GGUF files store them (Jinja), rendered with Jinjava. */
class ChatTemplateTest {
    private static final List<Map<String, Object>> MESSAGES = List.of(
            Map.of("role", "system", "content", "Be brief."),
            Map.of("role", "user", "content", "Hi!"));

    @Test
    void llama3StyleTemplate() {
        String t = "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' "
                + "+ message['content'] | trim + '<|eot_id|>' }}{%- endfor %}{%- if add_generation_prompt %}"
                + "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";
        String out = new ChatTemplate(t, "<|begin_of_text|>", "<|eot_id|>").render(MESSAGES);
        assertThat(out).isEqualTo("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void chatMlFallbackWhenTheModelHasNone() {
        ChatTemplate c = new ChatTemplate(null, "", "");
        assertThat(c.isBuiltin()).isTrue();
        assertThat(c.render(MESSAGES)).isEqualTo("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void templatesCanRejectConversations() {
        String t = "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
                + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
                + "{{ message['content'] }}{% endfor %}";
        ChatTemplate c = new ChatTemplate(t, "<s>", "</s>");
        assertThat(c.render(List.of(Map.of("role", "user", "content", "a"), Map.of("role", "assistant", "content", "b")))).isEqualTo("ab");
        assertThatThrownBy(() -> c.render(MESSAGES)).isInstanceOf(ApiException.class)
                .hasMessageContaining("roles must alternate")
                .satisfies(e -> assertThat(((ApiException) e).status()).isEqualTo(400));
    }

    private static String render(String template) {
        return new ChatTemplate(template, "<s>", "</s>", () -> java.time.LocalDate.of(2026, 12, 5)).render(MESSAGES);
    }

    @Test
    void globalsAndPythonIdiomsOfPublishedTemplates() {
        assertThat(render("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %A %B') }}|{{ strftime_now is defined }}"))
                .isEqualTo("05 Dec 2026|2026-12-05 Saturday December|true");
        assertThat(render("{{ 'Abc'.startswith('A') }} {{ 'Abc'.endswith(('x', 'c')) }} {{ ' x '.strip() }}|{{ 'xxaxx'.strip('x') }}"
                + "|{{ ', '.join(['a', 'b']) }}|{{ 'a  b'.split() }}|{{ 'ab'.upper() }}{{ 'AB'.lower() }}|{{ 'a-b'.replace('-', '+') }}"))
                .isEqualTo("true true x|a|a, b|['a', 'b']|ABab|a+b");
        // Jinja2 reads `not x is defined` as `not (x is defined)`
        assertThat(render("{% if not nothing is defined %}A{% endif %}{% if not messages is defined %}B{% endif %}"
                + "{% if not messages[0].role is string %}C{% endif %}")).isEqualTo("A");
        assertThat(render("{% for m in messages %}{% if loop.previtem %}{{ loop.previtem.role }}>{% endif %}{{ m.role }}"
                + "{% if loop.nextitem is defined and loop.nextitem %}<{{ loop.nextitem.role }}{% endif %};{% endfor %}"))
                .isEqualTo("system<user;system>user;");
        assertThat(render("{{ {'role': 'system', 'n': 1.5, 'ok': true, 'no': none} | tojson }}|{{ {'a': [1, 2]} | tojson(indent=2) }}|{{ 'x' is iterable }}"))
                .isEqualTo("{\"role\": \"system\", \"n\": 1.5, \"ok\": true, \"no\": null}|{\n  \"a\": [\n    1,\n    2\n  ]\n}|true");
        assertThat(render("{% for k, v in {'a': 1, 'b': 'x'} | items %}{{ k }}={{ v }};{% endfor %}")).isEqualTo("a=1;b=x;");
    }
}
