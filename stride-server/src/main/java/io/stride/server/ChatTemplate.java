package io.stride.server;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;

import java.time.LocalDate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Renders chat messages (and the request's tools) to a prompt with the model's {@code tokenizer.chat_template}
 * (Jinja, through Jinjava), or with ChatML when the model has none. The globals and filters published templates
 * rely on behave as in Hugging Face's renderers: {@code tojson} writes Python's {@code json.dumps} text,
 * {@code strftime_now} formats today's date, {@code raise_exception} rejects the conversation with a 400.
 */
public final class ChatTemplate {
    /** ChatML, the common fallback (llama.cpp uses it too when a model has no template). */
    static final String CHATML = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
            + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private final String template;
    private final ToolFormat toolFormat;
    private final boolean showsTools;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;
    private final boolean builtin;

    public ChatTemplate(String template, String bosToken, String eosToken) {
        this(template, bosToken, eosToken, LocalDate::now);
    }

    /** {@code today}: the date {@code strftime_now} formats (fixed in tests). */
    ChatTemplate(String template, String bosToken, String eosToken, Supplier<LocalDate> today) {
        this.builtin = template == null || template.isBlank();
        this.template = builtin ? CHATML : JinjaPython.rewrite(template);
        this.toolFormat = ToolFormat.of(builtin ? null : template);
        this.showsTools = !builtin && template.contains("tools");
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        JinjavaConfig cfg = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withMaxRenderDepth(16)
                .withElResolver(resolver())
                .withMaxOutputSize(4L << 20)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withEvaluateMapKeys(true)
                        .withIterateOverMapKeys(true)
                        .withUsePyishObjectMapper(true)
                        .withKeepNullableLoopValues(true)
                        .build())
                .build();
        this.jinjava = new Jinjava(cfg);
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class,
                "raiseException", String.class));
        jinjava.getGlobalContext().registerFilter(new PythonJsonFilter());
        jinjava.getGlobalContext().registerFilter(new JinjaPython.ItemsFilter());
        jinjava.getGlobalContext().registerExpTest(new JinjaPython.IterableTest());
        StrftimeNow strftime = new StrftimeNow(jinjava.getGlobalContext(), today);
        jinjava.getGlobalContext().addGlobalMacro(strftime);
        jinjava.getGlobalContext().put("strftime_now", strftime);
    }

    /** Python's string methods first, then Jinjava's own resolution. */
    private static ELResolver resolver() {
        CompositeELResolver r = new CompositeELResolver();
        r.add(new PythonStringMethods());
        r.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        return r;
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

    /** How the model writes tool calls, as its template shows. */
    ToolFormat toolFormat() {
        return toolFormat;
    }

    /** Whether the template renders the {@code tools} variable (else tools are described in a system message). */
    boolean showsTools() {
        return showsTools;
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
        return render(messages, null, Map.of());
    }

    /**
     * The prompt for {@code messages} (maps as in OpenAI's API, tool call arguments as objects), offering
     * {@code tools} (OpenAI tool objects; null: none, and the variable stays undefined as in Hugging Face's
     * renderers), with {@code extra} variables on top.
     */
    public String render(List<Map<String, Object>> messages, List<Object> tools, Map<String, Object> extra) {
        Map<String, Object> ctx = new HashMap<>(extra);
        ctx.put("messages", messages);
        if (tools != null) ctx.put("tools", tools);
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
