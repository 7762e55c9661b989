package io.stride.core.gguf;


/**
 * Names read from a file (tensor names, metadata keys), made safe to print in an error message: quoted, control
 * and invisible formatting characters escaped as {@code \\uXXXX}, and cut after 80 characters. A corrupted name
 * would otherwise write raw bytes (terminal escape sequences among them) to the user's terminal.
 */
final class Printable {
    private static final int MAX = 80;

    private Printable() {}

    static String quote(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder sb = new StringBuilder(Math.min(s.length(), MAX) + 2).append('\'');
        int n = 0;
        for (int i = 0; i < s.length() && n < MAX; i++, n++) {
            char c = s.charAt(i);
            int type = Character.getType(c);
            boolean visible = c >= 0x20 && c != 0x7f && !(c >= 0x80 && c < 0xa0) && type != Character.FORMAT
                    && type != Character.SURROGATE && type != Character.UNASSIGNED && type != Character.LINE_SEPARATOR
                    && type != Character.PARAGRAPH_SEPARATOR;
            if (visible) {
                sb.append(c);
            } else {
                sb.append(String.format("\\u%04x", (int) c));
            }
        }
        if (s.length() > MAX) {
            sb.append("...(").append(s.length()).append(" chars)");
        }
        return sb.append('\'').toString();
    }
}
