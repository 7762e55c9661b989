package io.stride.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.AdvancedFilter;
import com.hubspot.jinjava.objects.SafeString;

import java.util.Map;

/**
 * The Jinja {@code tojson} filter as Hugging Face's renderers define it: Python's {@code json.dumps(x,
 * ensure_ascii=False, indent=indent)}, so ", " and ": " between items without {@code indent}, one item per line
 * indented by {@code indent} spaces with it, keys in insertion order. Templates splice this text into prompts,
 * so its exact spelling is what the model was trained on.
 */
final class PythonJsonFilter implements AdvancedFilter {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Override
    public String getName() {
        return "tojson";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        Object indent = kwargs.get("indent");
        if (indent == null && args.length > 0) indent = args[0];
        if (indent != null && !(indent instanceof Number)) throw new IllegalArgumentException("tojson: indent must be a number");
        return write(var instanceof SafeString s ? s.toString() : var, indent == null ? -1 : ((Number) indent).intValue());
    }

    /** {@code value} as {@code json.dumps} writes it; {@code indent} < 0: on one line. */
    static String write(Object value, int indent) {
        Separators.Spacing after = Separators.Spacing.AFTER;
        Separators seps = Separators.createDefaultInstance()
                .withObjectFieldValueSpacing(after)
                .withObjectEntrySpacing(indent < 0 ? after : Separators.Spacing.NONE)
                .withArrayValueSpacing(indent < 0 ? after : Separators.Spacing.NONE)
                .withObjectEmptySeparator("")
                .withArrayEmptySeparator("");
        DefaultPrettyPrinter pp = new DefaultPrettyPrinter().withSeparators(seps);
        DefaultIndenter lines = indent < 0 ? null : new DefaultIndenter(" ".repeat(indent), "\n");
        pp.indentObjectsWith(lines == null ? new DefaultPrettyPrinter.NopIndenter() : lines);
        pp.indentArraysWith(lines == null ? new DefaultPrettyPrinter.NopIndenter() : lines);
        try {
            return MAPPER.writer(pp).writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("tojson: " + e.getOriginalMessage(), e);
        }
    }
}
