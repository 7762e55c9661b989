package io.stride.core.spec;

import java.util.Arrays;

/**
 * A depth-limited suffix tree of token sequences with occurrence counts: every substring of length at most
 * {@code maxDepth} of the inserted text is a path from the root, and a node's count is how many times that
 * substring occurs. Stored in flat int arrays (no object per node) with an open-addressing map from
 * (parent, token) to child, so it can be bounded, measured and shrunk: removing a text decrements the same
 * paths and frees nodes whose count falls to zero.
 */
public final class SuffixTrie {
    private static final int NONE = -1;
    private final int maxDepth;
    private final int maxNodes;
    private int[] token, parent, count, depth, firstChild, nextSibling, prevSibling;
    private int capacity;
    private int used; // slots handed out (high-water mark)
    private int live; // nodes in the tree, root included
    private int freeList = NONE;
    private long[] keys;
    private int[] vals;
    private int mask;

    /** An unbounded tree. */
    public SuffixTrie(int maxDepth) {
        this(maxDepth, Integer.MAX_VALUE - 8);
    }

    /** A tree whose storage never exceeds {@code maxNodes} nodes (adding more throws; owners evict first). */
    public SuffixTrie(int maxDepth, int maxNodes) {
        if (maxDepth < 2) {
            throw new IllegalArgumentException("suffix tree depth must be >= 2");
        }
        if (maxNodes < 1) {
            throw new IllegalArgumentException("suffix tree node limit must be >= 1");
        }
        this.maxDepth = maxDepth;
        this.maxNodes = maxNodes;
        allocate(Math.min(64, maxNodes));
        keys = new long[128];
        Arrays.fill(keys, -1L);
        vals = new int[128];
        mask = 127;
        int root = newNode(NONE, NONE, 0);
        count[root] = 0;
    }

    public int maxDepth() {
        return maxDepth;
    }

    public int root() {
        return 0;
    }

    /** Nodes in the tree, the root included. */
    public int nodeCount() {
        return live;
    }

    /** Bytes held by this tree's arrays. */
    public long memoryBytes() {
        return 7L * 4 * capacity + 12L * keys.length;
    }

    public int token(int node) {
        return token[node];
    }

    public int count(int node) {
        return count[node];
    }

    public int depth(int node) {
        return depth[node];
    }

    public int firstChild(int node) {
        return firstChild[node];
    }

    public int nextSibling(int node) {
        return nextSibling[node];
    }

    /** The child of {@code node} for {@code tok}, or -1. */
    public int child(int node, int tok) {
        long key = key(node, tok);
        for (int i = hash(key); ; i = (i + 1) & mask) {
            long k = keys[i];
            if (k == key) return vals[i];
            if (k == -1L) return NONE;
        }
    }

    /** The node of {@code seq[from .. to)} (the root when empty), or -1 when that substring is not in the tree. */
    public int find(int[] seq, int from, int to) {
        int n = root();
        for (int i = from; i < to && n != NONE; i++) {
            n = child(n, seq[i]);
        }
        return n;
    }

    /**
     * Adds one token to a text being inserted incrementally. {@code active[0 .. activeCount)} are the nodes of
     * the text's current suffixes shorter than the depth limit (initially just the root); they are replaced by
     * the extended ones. Returns the new active count.
     */
    public int extend(int[] active, int activeCount, int tok) {
        int out = 0;
        for (int i = 0; i < activeCount; i++) {
            int c = childOrCreate(active[i], tok);
            count[c]++;
            if (depth[c] < maxDepth) {
                active[out++] = c;
            }
        }
        active[out++] = root();
        count[root()]++;
        return out;
    }

    /** Inserts every substring (up to the depth limit) of {@code seq[from .. to)}. */
    public void insert(int[] seq, int from, int to) {
        for (int i = from; i < to; i++) {
            int n = root();
            count[n]++;
            for (int j = i; j < Math.min(to, i + maxDepth); j++) {
                n = childOrCreate(n, seq[j]);
                count[n]++;
            }
        }
    }

    /** Undoes {@link #insert} of the same tokens, freeing nodes that no longer occur. */
    public void remove(int[] seq, int from, int to) {
        int[] path = new int[maxDepth];
        for (int i = from; i < to; i++) {
            int len = 0;
            int n = root();
            for (int j = i; j < Math.min(to, i + maxDepth); j++) {
                n = child(n, seq[j]);
                if (n == NONE) {
                    throw new IllegalStateException("removing a text that was not inserted");
                }
                path[len++] = n;
            }
            count[root()]--;
            for (int d = 0; d < len; d++) {
                count[path[d]]--;
            }
            for (int d = len - 1; d >= 0; d--) {
                if (count[path[d]] <= 0) {
                    freeNode(path[d]);
                }
            }
        }
    }

    /** Most new nodes an insertion of {@code tokens} tokens can create. */
    public int worstCaseNewNodes(int tokens) {
        return (int) Math.min(Integer.MAX_VALUE, (long) tokens * maxDepth);
    }

    private int childOrCreate(int node, int tok) {
        int c = child(node, tok);
        return c != NONE ? c : newNode(node, tok, depth[node] + 1);
    }

    private int newNode(int par, int tok, int d) {
        int n;
        if (freeList != NONE) {
            n = freeList;
            freeList = nextSibling[n];
        } else {
            if (used == capacity) {
                if (capacity >= maxNodes) {
                    throw new IllegalStateException("suffix tree is full (" + maxNodes + " nodes)");
                }
                allocate((int) Math.min((long) capacity * 2, maxNodes));
            }
            n = used++;
        }
        token[n] = tok;
        parent[n] = par;
        count[n] = 0;
        depth[n] = d;
        firstChild[n] = NONE;
        prevSibling[n] = NONE;
        nextSibling[n] = NONE;
        live++;
        if (par != NONE) {
            int head = firstChild[par];
            nextSibling[n] = head;
            if (head != NONE) prevSibling[head] = n;
            firstChild[par] = n;
            put(key(par, tok), n);
        }
        return n;
    }

    private void freeNode(int n) {
        if (firstChild[n] != NONE) {
            throw new IllegalStateException("freeing a node that still has children");
        }
        int par = parent[n];
        int prev = prevSibling[n], next = nextSibling[n];
        if (prev != NONE) nextSibling[prev] = next; else firstChild[par] = next;
        if (next != NONE) prevSibling[next] = prev;
        delete(key(par, token[n]));
        nextSibling[n] = freeList;
        freeList = n;
        count[n] = 0;
        live--;
    }

    private void allocate(int cap) {
        token = grow(token, cap);
        parent = grow(parent, cap);
        count = grow(count, cap);
        depth = grow(depth, cap);
        firstChild = grow(firstChild, cap);
        nextSibling = grow(nextSibling, cap);
        prevSibling = grow(prevSibling, cap);
        capacity = cap;
    }

    private static int[] grow(int[] a, int cap) {
        return a == null ? new int[cap] : Arrays.copyOf(a, cap);
    }

    private static long key(int node, int tok) {
        return ((long) node << 32) | (tok & 0xffffffffL);
    }

    private int hash(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 40) & mask;
    }

    private void put(long key, int val) {
        if ((live + 1) * 2L > keys.length) {
            rehash(keys.length * 2);
        }
        int i = hash(key);
        while (keys[i] != -1L) {
            i = (i + 1) & mask;
        }
        keys[i] = key;
        vals[i] = val;
    }

    /** Linear-probing deletion with backward shift (no tombstones). */
    private void delete(long key) {
        int i = hash(key);
        while (keys[i] != key) {
            if (keys[i] == -1L) return;
            i = (i + 1) & mask;
        }
        int j = i;
        while (true) {
            j = (j + 1) & mask;
            if (keys[j] == -1L) break;
            int home = hash(keys[j]);
            // move keys[j] into the hole at i if its home is not cyclically within (i, j]
            boolean between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (!between) {
                keys[i] = keys[j];
                vals[i] = vals[j];
                i = j;
            }
        }
        keys[i] = -1L;
    }

    private void rehash(int size) {
        long[] oldKeys = keys;
        int[] oldVals = vals;
        keys = new long[size];
        Arrays.fill(keys, -1L);
        vals = new int[size];
        mask = size - 1;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != -1L) {
                int j = hash(oldKeys[i]);
                while (keys[j] != -1L) j = (j + 1) & mask;
                keys[j] = oldKeys[i];
                vals[j] = oldVals[i];
            }
        }
    }
}
