package io.stride.core.sparse;

import java.util.Locale;

/**
 * TidalDecode's position-persistent sparse attention for decode steps: layers before {@link #select} attend densely;
 * the selection layer attends densely and picks, for each work item (one KV head and up to four of its query heads),
 * the {@link #budget} positions with the largest summed attention probability; every later layer attends only to those
 * positions, except the re-selection layer, which attends densely and picks again. A token that sees no more than
 * {@code budget} positions attends densely everywhere (the same bits as dense attention). Selection depends on the
 * token's own query and keys only, so a token's output does not depend on the batch.
 *
 * <p>Beyond the paper: {@code sink} first and {@code window} last positions can be kept whatever their scores (counted
 * in the budget), as StreamingLLM keeps its attention sinks and recent window.
 *
 * <p>With {@code shadow} set the mode is ShadowKV instead ({@link ShadowKv}): every layer attends to the budget's
 * chunks chosen by landmark scores, with keys rebuilt from low-rank factors; the layer fields are unused.
 *
 * @param budget   positions a sparse layer attends to
 * @param select   the first selection layer (-1: the default, 2 or the last layer of smaller models)
 * @param reselect the re-selection layer (-1: the default; {@link #NO_RESELECT}: none)
 * @param sink     first positions always kept
 * @param window   last positions (the token's own among them) always kept
 * @param shadow   ShadowKV's settings, or null for TidalDecode
 */
public record SparseAttention(int budget, int select, int reselect, int sink, int window, ShadowKv shadow) {
    /** The {@link #reselect} that means no re-selection layer. */
    public static final int NO_RESELECT = -2;

    /** What a layer does for a sparse token. */
    public enum Role { DENSE, SELECT, SPARSE }

    public SparseAttention {
        if (budget < 1) {
            throw new IllegalArgumentException("sparse attention budget must be at least 1, got " + budget);
        }
        if (select < -1 || reselect < NO_RESELECT) {
            throw new IllegalArgumentException("sparse attention layers must be >= 0");
        }
        if (sink < 0 || window < 0 || (long) sink + window > budget) {
            throw new IllegalArgumentException("tidal sink=" + sink + " and window=" + window + " must fit in budget=" + budget);
        }
        if (shadow != null && budget % shadow.chunk() != 0) {
            throw new IllegalArgumentException("shadowkv budget=" + budget + " must be a multiple of chunk=" + shadow.chunk());
        }
    }

    /** TidalDecode with sink and window positions. */
    public SparseAttention(int budget, int select, int reselect, int sink, int window) {
        this(budget, select, reselect, sink, window, null);
    }

    /** The paper's mode: no positions kept whatever their scores. */
    public SparseAttention(int budget, int select, int reselect) {
        this(budget, select, reselect, 0, 0);
    }

    /**
     * Parses {@code none} (returns null), {@code tidal},
     * {@code tidal:budget=512,select=2,reselect=13|none,sink=0,window=0}, {@code shadowkv} or
     * {@code shadowkv:budget=2048,rank=R,chunk=8,outliers=48,local=4}; an unknown mode or key is an error naming it.
     */
    public static SparseAttention parse(String spec) {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        if (s.isEmpty() || s.equals("none")) {
            return null;
        }
        int colon = s.indexOf(':');
        String mode = colon < 0 ? s : s.substring(0, colon);
        if (mode.equals("shadowkv")) {
            return parseShadow(colon < 0 ? "" : s.substring(colon + 1));
        }
        if (!mode.equals("tidal")) {
            throw new IllegalArgumentException("unknown sparse attention mode '" + mode + "' (supported: none, tidal, shadowkv)");
        }
        int budget = 512, select = -1, reselect = -1, sink = 0, window = 0;
        if (colon >= 0) {
            for (String[] p : options(s.substring(colon + 1))) {
                switch (p[0].trim()) {
                    case "budget" -> budget = integer(p);
                    case "select" -> select = integer(p);
                    case "reselect" -> reselect = p[1].trim().equals("none") ? NO_RESELECT : integer(p);
                    case "sink" -> sink = integer(p);
                    case "window" -> window = integer(p);
                    default -> throw new IllegalArgumentException("unknown tidal option '" + p[0].trim()
                            + "' (supported: budget, select, reselect, sink, window)");
                }
            }
        }
        return new SparseAttention(budget, select, reselect, sink, window);
    }

    private static SparseAttention parseShadow(String options) {
        int budget = ShadowKv.DEFAULT_BUDGET, rank = 0, chunk = ShadowKv.DEFAULT_CHUNK;
        int outliers = ShadowKv.DEFAULT_OUTLIERS, local = ShadowKv.DEFAULT_LOCAL;
        if (!options.isEmpty()) {
            for (String[] p : options(options)) {
                switch (p[0].trim()) {
                    case "budget" -> budget = integer(p);
                    case "rank" -> rank = integer(p);
                    case "chunk" -> chunk = integer(p);
                    case "outliers" -> outliers = integer(p);
                    case "local" -> local = integer(p);
                    default -> throw new IllegalArgumentException("unknown shadowkv option '" + p[0].trim()
                            + "' (supported: budget, rank, chunk, outliers, local)");
                }
            }
        }
        if (chunk < 1 || budget < 1) {
            throw new IllegalArgumentException("shadowkv chunk and budget must be at least 1");
        }
        return new SparseAttention(budget, 0, NO_RESELECT, 0, 0, new ShadowKv(rank, chunk, outliers, local));
    }

    /** The {@code key=value} pairs of a comma-separated option list; one without '=' is an error naming it. */
    private static String[][] options(String list) {
        String[] items = list.split(",");
        String[][] pairs = new String[items.length][];
        for (int i = 0; i < items.length; i++) {
            pairs[i] = items[i].split("=", 2);
            if (pairs[i].length != 2) {
                throw new IllegalArgumentException("sparse attention option '" + items[i] + "' needs key=value");
            }
        }
        return pairs;
    }

    private static int integer(String[] p) {
        try {
            int v = Integer.parseInt(p[1].trim());
            if (v < 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("sparse attention option " + p[0].trim() + " needs a non-negative integer, got '" + p[1].trim() + "'");
        }
    }

    /**
     * The same settings with the layers chosen for a model of {@code layers} layers: selection at layer 2 (the paper's
     * third layer; the last layer when there are fewer), re-selection halfway through the layers after it when a sparse
     * layer is left after that (the paper re-selects at layer 13 of Llama-3's 32, found by measurement; javatiny-26m
     * measures best at 5 of 8, this rule's choice). An explicit layer outside the model is an error, as is a ShadowKV
     * rank above the model's key width {@code keyWidth} (all KV heads).
     */
    public SparseAttention forLayers(int layers, int keyWidth) {
        if (shadow != null) {
            shadow.rankFor(keyWidth);
            return this;
        }
        int sel = select >= 0 ? select : Math.min(2, layers - 1);
        if (sel >= layers) {
            throw new IllegalArgumentException("tidal select=" + sel + " is not a layer of this model (0 .. " + (layers - 1) + ")");
        }
        int re = reselect;
        if (re == -1) {
            int r = sel + (layers - sel + 1) / 2;
            re = r < layers - 1 ? r : NO_RESELECT;
        } else if (re >= 0 && (re <= sel || re >= layers)) {
            throw new IllegalArgumentException("tidal reselect=" + re + " must lie after select=" + sel + " and before " + layers);
        }
        return new SparseAttention(budget, sel, re, sink, window);
    }

    /** What layer {@code layer} does (layers resolved by {@link #forLayers}). */
    public Role role(int layer) {
        if (shadow != null) {
            return Role.SPARSE;
        }
        if (layer < select) {
            return Role.DENSE;
        }
        return layer == select || layer == reselect ? Role.SELECT : Role.SPARSE;
    }

    @Override
    public String toString() {
        if (shadow != null) {
            return "shadowkv:budget=" + budget + (shadow.rank() > 0 ? ",rank=" + shadow.rank() : "") + ",chunk=" + shadow.chunk()
                    + ",outliers=" + shadow.outliers() + ",local=" + shadow.local();
        }
        return "tidal:budget=" + budget + (select >= 0 ? ",select=" + select : "")
                + (reselect >= 0 ? ",reselect=" + reselect : reselect == NO_RESELECT ? ",reselect=none" : "")
                + (sink > 0 ? ",sink=" + sink : "") + (window > 0 ? ",window=" + window : "");
    }
}
