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
}
