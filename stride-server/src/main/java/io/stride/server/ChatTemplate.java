package io.stride.server;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders chat messages to a prompt with the model's {@code tokenizer.chat_template} (Jinja, through Jinjava),
 * or with ChatML when the model has none.
 */
public final class ChatTemplate {
    /** ChatML, the common fallback (llama.cpp uses it too when a model has no template). */
    static final String CHATML = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
            + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;
    private final boolean builtin;

    public ChatTemplate(String template, String bosToken, String eosToken) {
        this.builtin = template == null || template.isBlank();
        this.template = builtin ? CHATML : template;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        JinjavaConfig cfg = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withMaxRenderDepth(16)
                .withMaxOutputSize(4L << 20)
                .build();
        this.jinjava = new Jinjava(cfg);
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class,
                "raiseException", String.class));
    }

    /** Called by templates that reject a conversation (e.g. roles not alternating). */
    public static String raiseException(String message) {
        throw new TemplateRejection(message);
    }

    static final class TemplateRejection extends RuntimeException {
        TemplateRejection(String m) {
            super(m);
        }
    }

    public boolean isBuiltin() {
        return builtin;
    }

    /**
     * Stop strings a chat request gets on top of its own: with the ChatML fallback, its end marker, which a model
     * that was not trained on ChatML has no token for and would otherwise write out as text.
     */
    public List<String> fallbackStops() {
        return builtin ? List.of("<|im_end|>") : List.of();
    }

    /** The prompt for {@code messages} (each a map with "role" and "content"), ending with the assistant's turn. */
    public String render(List<Map<String, Object>> messages) {
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", messages);
        ctx.put("add_generation_prompt", true);
        ctx.put("bos_token", bosToken);
        ctx.put("eos_token", eosToken);
        RenderResult r;
        try {
            r = jinjava.renderForResult(template, ctx);
        } catch (TemplateRejection e) {
            throw ApiException.badRequest("the chat template rejected the messages: " + e.getMessage(), "messages");
        } catch (RuntimeException e) {
            Throwable c = e;
            while (c != null) {
                if (c instanceof TemplateRejection tr) {
                    throw ApiException.badRequest("the chat template rejected the messages: " + tr.getMessage(), "messages");
                }
                c = c.getCause();
            }
            throw new ApiException(500, "server_error", "the model's chat template failed: " + e.getMessage(), null, null);
        }
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                String msg = e.getMessage();
                if (msg != null && msg.contains("TemplateRejection")) {
                    throw ApiException.badRequest("the chat template rejected the messages: " + msg, "messages");
                }
                if (e.getException() != null) {
                    Throwable c = e.getException();
                    while (c != null) {
                        if (c instanceof TemplateRejection tr) {
                            throw ApiException.badRequest("the chat template rejected the messages: " + tr.getMessage(), "messages");
                        }
                        c = c.getCause();
                    }
                }
                throw new ApiException(500, "server_error", "the model's chat template failed: " + msg, null, null);
            }
        }
        return r.getOutput();
    }
}
