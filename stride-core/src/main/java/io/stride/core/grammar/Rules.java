package io.stride.core.grammar;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Grammar rules over characters, as written in GBNF: each rule is a list of alternatives, each alternative a sequence
 * of character classes and rule references. Repetition and grouping are already expanded into auxiliary rules
 * (named after the rule they came from), so a rule is plain BNF.
 */
final class Rules {
    sealed interface Sym permits Chars, Ref {}

    /** One character from the normalized inclusive code-point ranges (pairs). */
    record Chars(int[] ranges) implements Sym {}

    record Ref(int rule) implements Sym {}

    final List<String> names = new ArrayList<>();
    final List<List<List<Sym>>> defs = new ArrayList<>();
    private final Map<String, Integer> ids = new HashMap<>();
    private final Map<String, Integer> auxCount = new HashMap<>();

    /** The id of rule {@code name}, created undefined when new. */
    int id(String name) {
        Integer id = ids.get(name);
        if (id != null) return id;
        ids.put(name, names.size());
        names.add(name);
        defs.add(null);
        return names.size() - 1;
    }

    /** A new auxiliary rule named after {@code base} ({@code base-1}, {@code base-2}, ...). */
    int fresh(String base) {
        while (true) {
            int n = auxCount.merge(base, 1, Integer::sum);
            String name = base + "-" + n;
            if (!ids.containsKey(name)) return id(name);
        }
    }

    boolean has(String name) {
        return ids.containsKey(name);
    }

    void define(int id, List<List<Sym>> alternatives) {
        defs.set(id, alternatives);
    }

    int size() {
        return names.size();
    }
}
