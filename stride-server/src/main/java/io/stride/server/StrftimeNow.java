package io.stride.server;

import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.lib.fn.MacroFunction;

import java.time.LocalDate;
import java.time.format.TextStyle;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The {@code strftime_now(format)} global of Hugging Face's chat-template renderers (Llama 3.x templates write
 * "Today Date: " with it): today's date formatted by Python's strftime directives, in English as Python's
 * C locale writes them. Time-of-day directives give midnight: templates only print dates.
 */
final class StrftimeNow extends MacroFunction {
    private final Supplier<LocalDate> today;

    StrftimeNow(Context context, Supplier<LocalDate> today) {
        super(List.of(), "strftime_now", args(), false, context, 0, 0);
        this.today = today;
    }

    private static LinkedHashMap<String, Object> args() {
        LinkedHashMap<String, Object> a = new LinkedHashMap<>();
        a.put("format", null);
        return a;
    }

    @Override
    public Object doEvaluate(Map<String, Object> argMap, Map<String, Object> kwargMap, List<Object> varArgs) {
        Object f = argMap.get("format");
        return format(f == null ? "" : f.toString(), today.get());
    }

    /** {@code date} written with the strftime directives of {@code fmt}. */
    static String format(String fmt, LocalDate date) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c != '%' || i + 1 == fmt.length()) {
                sb.append(c);
                continue;
            }
            char d = fmt.charAt(++i);
            switch (d) {
                case 'd' -> sb.append(String.format("%02d", date.getDayOfMonth()));
                case 'e' -> sb.append(String.format("%2d", date.getDayOfMonth()));
                case 'm' -> sb.append(String.format("%02d", date.getMonthValue()));
                case 'Y' -> sb.append(date.getYear());
                case 'y' -> sb.append(String.format("%02d", date.getYear() % 100));
                case 'b', 'h' -> sb.append(date.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> sb.append(date.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> sb.append(date.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> sb.append(date.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'j' -> sb.append(String.format("%03d", date.getDayOfYear()));
                case 'F' -> sb.append(date);
                case 'H', 'M', 'S' -> sb.append("00");
                case '%' -> sb.append('%');
                default -> sb.append('%').append(d);
            }
        }
        return sb.toString();
    }
}
