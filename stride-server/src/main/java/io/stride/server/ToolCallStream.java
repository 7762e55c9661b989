package io.stride.server;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits one streamed choice into content deltas and tool calls as its text arrives. Text that may still become
 * a call (a partial marker; in formats whose calls are bare JSON, an answer that opens with '{' or '[') is held
 * back; text before a marker goes out as content at once. Hermes calls go out each as its closing tag arrives,
 * the other formats' when the output ends. Output that turns out not to be calls goes out as content at the end,
 * so nothing the model wrote is lost.
 */
final class ToolCallStream {
    /** A piece to send: content text, or one complete call (with its index among the choice's calls). */
    sealed interface Piece {}

    record Content(String text) implements Piece {}

    record Call(int index, ToolFormat.ToolCall call) implements Piece {}

    private final ToolFormat format;
    private final boolean parallel;
    private final StringBuilder held = new StringBuilder();
    private boolean inCalls;
    private boolean sentContent;
    private int sentCalls;
    /** the end of the last Hermes closing tag already parsed: blocks are re-parsed only when a new one closes */
    private int parsedTo;

    ToolCallStream(ToolFormat format, boolean parallel) {
        this.format = format;
        this.parallel = parallel;
    }

    /** Whether any call went out (the finish reason is then "tool_calls"). */
    boolean called() {
        return sentCalls > 0;
    }

    /** What can be sent after {@code text} arrives. */
    List<Piece> add(String text) {
        List<Piece> out = new ArrayList<>();
        held.append(text);
        if (!inCalls) {
            int at = held.indexOf(format.marker);
            if (at >= 0) {
                content(out, held.substring(0, at));
                held.delete(0, at);
                inCalls = true;
            } else if (!sentContent && format.bareCalls() && mayOpenBareCall(held)) {
                return out;
            } else {
                int keep = partialMarker(held);
                content(out, held.substring(0, held.length() - keep));
                held.delete(0, held.length() - keep);
                return out;
            }
        }
        if (format == ToolFormat.HERMES) {
            int end = held.lastIndexOf("</tool_call>") + "</tool_call>".length();
            if (end > parsedTo) {
                parsedTo = end;
                calls(out, format.parse(held.substring(0, end)), false);
            }
        }
        return out;
    }

    /** What is left to send when the output has ended. */
    List<Piece> finish() {
        List<Piece> out = new ArrayList<>();
        String rest = held.toString();
        held.setLength(0);
        if (rest.isEmpty()) return out;
        if (inCalls || (format.bareCalls() && !sentContent)) {
            ToolFormat.Parsed p = format.parse(rest);
            if (!p.calls().isEmpty()) {
                if (p.content() != null && !inCalls) content(out, p.content());
                calls(out, p, true);
                return out;
            }
        }
        if (sentCalls == 0) content(out, rest);
        return out;
    }

    /** Sends the calls of {@code p} not sent yet (all of Hermes' closed blocks are re-parsed each time). */
    private void calls(List<Piece> out, ToolFormat.Parsed p, boolean last) {
        List<ToolFormat.ToolCall> calls = p.calls();
        if (calls.isEmpty() && !last) return;
        for (int i = sentCalls; i < calls.size(); i++) {
            if (!parallel && sentCalls >= 1) break;
            out.add(new Call(sentCalls, calls.get(i)));
            sentCalls++;
        }
    }

    private void content(List<Piece> out, String text) {
        if (text.isEmpty()) return;
        out.add(new Content(text));
        if (!text.isBlank()) sentContent = true;
    }

    private static boolean mayOpenBareCall(CharSequence s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!Character.isWhitespace(c)) return c == '{' || c == '[';
        }
        return true;
    }

    /** The length of the longest end of {@code s} that begins the marker. */
    private int partialMarker(CharSequence s) {
        String m = format.marker;
        for (int k = Math.min(m.length() - 1, s.length()); k > 0; k--) {
            if (m.startsWith(s.subSequence(s.length() - k, s.length()).toString())) return k;
        }
        return 0;
    }
}
