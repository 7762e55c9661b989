package io.stride.core.grammar;

import java.util.Arrays;
import java.util.HashSet;

/**
 * An insertion-ordered set of stacks for parse states, which hold a handful of stacks almost always: a linear scan
 * (hash compared first) while small, a hash index once larger.
 */
final class StackSet {
    private static final int LINEAR = 12;
    private Stack[] items = new Stack[8];
    private int size;
    private HashSet<Stack> index;

    boolean add(Stack s) {
        if (index != null) {
            if (!index.add(s)) return false;
        } else {
            for (int i = 0; i < size; i++) {
                if (items[i].equals(s)) return false;
            }
            if (size == LINEAR) {
                index = new HashSet<>(Arrays.asList(items).subList(0, size));
                index.add(s);
            }
        }
        if (size == items.length) items = Arrays.copyOf(items, size * 2);
        items[size++] = s;
        return true;
    }

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    Stack[] toArray() {
        return Arrays.copyOf(items, size);
    }
}
