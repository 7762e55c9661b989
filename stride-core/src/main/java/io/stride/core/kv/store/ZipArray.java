package io.stride.core.kv.store;

import io.stride.core.kv.KvCacheType;
import io.stride.core.kv.ZipOptions;

/**
 * ZipCache's mixed-precision keys or values ({@link KvCacheType#ZIP}): every slot stored as q4_0 (a {@link Q4Array}
 * base, tiles or rows), and for each block of {@link ZipOptions#BLOCK} slots, once the block is closed, its
 * {@code salient} chosen slots stored again as q8_0 (the upgrades, rows). A slot's q8_0 copy comes from its
 * sequence's {@link ZipStage}, where every slot of the open block is kept as q8_0 until the block closes.
 *
 * <p>The widen methods of {@link KvArray} give the base; the {@code upgrade} methods then overwrite the upgraded slots
 * with their q8_0 values: what a token reads of the blocks before its own, all closed. (A token reads its own, open
 * block from its sequence's staging.) Which view a reader gets depends only on positions, so a token's bits do not
 * depend on the batch or on how its prompt was split into passes.
 */
public final class ZipArray extends KvArray {
    private final Q4Array base;
    private final Q8Array up;
    /** per (block, upgrade u): the upgraded slot's offset in its block, or -1 */
    private final byte[] upSlot;
    private final int salient;

    ZipArray(boolean tiled, int slots, int dim, ZipOptions options) {
        super(tiled, slots, dim);
        if (this.slots % ZipOptions.BLOCK != 0) {
            throw new IllegalArgumentException("a zip cache holds whole blocks of " + ZipOptions.BLOCK + " slots, got " + slots);
        }
        this.salient = options.salient();
        base = new Q4Array(tiled, this.slots, dim);
        int blocks = this.slots / ZipOptions.BLOCK;
        up = new Q8Array(false, blocks * salient, dim);
        upSlot = new byte[blocks * salient];
        java.util.Arrays.fill(upSlot, (byte) -1);
    }

    @Override
    public KvCacheType type() {
        return KvCacheType.ZIP;
    }

    /** Upgraded slots per block. */
    public int salient() {
        return salient;
    }

    @Override
    public void write(int slot, float[] src, int off) {
        base.write(slot, src, off);
    }

    /**
     * Copies the base of slot {@code from} to slot {@code to}: within a sequence's open block only (an accepted draft
     * node moved to its position), where no upgrade exists yet.
     */
    @Override
    public void copy(int from, int to) {
        base.copy(from, to);
    }

    @Override
    public void widenTile(int tileSlot, int j0, int n, float[] dst, int off) {
        base.widenTile(tileSlot, j0, n, dst, off);
    }

    @Override
    public void widenKey(int slot, int j0, int n, float[] dst, int off, int stride) {
        base.widenKey(slot, j0, n, dst, off, stride);
    }

    @Override
    public void widenRows(int[] slotOf, int from, int count, int j0, int n, float[] dst, int off) {
        base.widenRows(slotOf, from, count, j0, n, dst, off);
    }

    /** Overwrites the upgraded slots of the tile from {@code tileSlot} in a {@link #widenTile} output (value d of slot s at off + 16d + s). */
    public void upgradeTile(int tileSlot, int j0, int n, float[] dst, int off) {
        int first = tileSlot / ZipOptions.BLOCK * salient;
        for (int u = first; u < first + salient; u++) {
            if (upSlot[u] >= 0) {
                up.widenKey(u, j0, n, dst, off + upSlot[u], TILE);
            }
        }
    }

    /** Overwrites a {@link #widenKey} output with the slot's q8_0 values when the slot is upgraded. */
    public void upgradeKey(int slot, int j0, int n, float[] dst, int off, int stride) {
        int u = upgradeOf(slot);
        if (u >= 0) {
            up.widenKey(u, j0, n, dst, off, stride);
        }
    }

    /** Overwrites the rows of a {@link #widenRows} output whose slots are upgraded. */
    public void upgradeRows(int[] slotOf, int from, int count, int j0, int n, float[] dst, int off) {
        for (int r = 0; r < count; r++) {
            int u = upgradeOf(slotOf[from + r]);
            if (u >= 0) {
                up.widenKey(u, j0, n, dst, off + r * n, 1);
            }
        }
    }

    private int upgradeOf(int slot) {
        int s = slot % ZipOptions.BLOCK;
        int first = slot / ZipOptions.BLOCK * salient;
        for (int u = first; u < first + salient; u++) {
            if (upSlot[u] == s) {
                return u;
            }
        }
        return -1;
    }

    /**
     * Upgrade {@code u} of block {@code block}: the slot at offset {@code offset} reads as row {@code row} of {@code src}
     * (its q8_0 copy) from now on. Called when the block closes.
     */
    public void upgrade(int block, int u, int offset, Q8Array src, int row) {
        int at = block * salient + u;
        up.copyRowFrom(src, row, at);
        upSlot[at] = (byte) offset;
    }

    @Override
    public long bytes() {
        return base.bytes() + up.bytes() + upSlot.length;
    }

    /** The base's bytes per slot; a block adds {@code salient} q8_0 slots and one byte per upgrade. */
    @Override
    public int slotBytes() {
        return base.slotBytes();
    }

    @Override
    public int exportBytes(int count) {
        checkBlocks(0, count);
        int upgrades = count / ZipOptions.BLOCK * salient;
        return base.exportBytes(count) + upgrades * (up.slotBytes() + 1);
    }

    /** Whole blocks: the base slots, then each block's upgrades (q8_0 rows, then their offsets). */
    @Override
    public void exportSlots(int first, int count, java.nio.ByteBuffer dst) {
        checkBlocks(first, count);
        base.exportSlots(first, count, dst);
        int u0 = first / ZipOptions.BLOCK * salient, un = count / ZipOptions.BLOCK * salient;
        if (un > 0) {
            up.exportSlots(u0, un, dst);
            dst.put(upSlot, u0, un);
        }
    }

    @Override
    public void importSlots(int first, int count, java.nio.ByteBuffer src) {
        checkBlocks(first, count);
        base.importSlots(first, count, src);
        int u0 = first / ZipOptions.BLOCK * salient, un = count / ZipOptions.BLOCK * salient;
        if (un > 0) {
            up.importSlots(u0, un, src);
            src.get(upSlot, u0, un);
        }
    }

    private static void checkBlocks(int first, int count) {
        if (first % ZipOptions.BLOCK != 0 || count % ZipOptions.BLOCK != 0) {
            throw new IllegalArgumentException("zip slots move in whole blocks of " + ZipOptions.BLOCK + ": " + first + "+" + count);
        }
    }
}
