package io.stride.core.kv.store;

import io.stride.core.kv.KvCacheType;
import io.stride.core.kv.ZipOptions;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * ZipCache's array: the base view is q4_0 exactly (ggml's reference, as {@link KvArrayTest} checks it), and after a
 * block closes its chosen slots read as q8_0 of the staged values through every upgrade path, the other slots and
 * the other blocks unchanged.
 */
class ZipArrayTest {
    private static final int DIM = 64, SLOTS = 48, TILE = KvArray.TILE;

    @Test
    void baseIsQ4AndClosedBlocksReadTheirChosenSlotsAsQ8() {
        for (boolean tiled : new boolean[] {true, false}) {
            Random r = new Random(5);
            ZipArray z = new ZipArray(tiled, SLOTS, DIM, new ZipOptions(2, true));
            Q8Array staged = new Q8Array(false, TILE, DIM);
            float[][] src = new float[SLOTS][DIM];
            for (int s = 0; s < SLOTS; s++) {
                for (int j = 0; j < DIM; j++) src[s][j] = (float) r.nextGaussian() * (j == 5 ? 20 : 1);
                z.write(s, src[s], 0);
                if (s / TILE == 1) staged.write(s % TILE, src[s], 0); // block 1 is staged
            }
            float[] one = new float[DIM];
            for (int s = 0; s < SLOTS; s++) {
                z.widenKey(s, 0, DIM, one, 0, 1);
                assertThat(one).containsExactly(KvArrayTest.reference(KvCacheType.Q4_0, src[s]));
            }
            z.upgrade(1, 0, 9, staged, 9);
            z.upgrade(1, 1, 2, staged, 2);
            for (int s = 0; s < SLOTS; s++) {
                boolean up = s == TILE + 9 || s == TILE + 2;
                float[] want = KvArrayTest.reference(up ? KvCacheType.Q8_0 : KvCacheType.Q4_0, src[s]);
                z.widenKey(s, 0, DIM, one, 0, 1);
                z.upgradeKey(s, 0, DIM, one, 0, 1);
                assertThat(one).as("slot %d, one key", s).containsExactly(want);
                z.widenKey(s, 0, DIM, one, 0, 1);
                assertThat(one).as("slot %d, base view", s).containsExactly(KvArrayTest.reference(KvCacheType.Q4_0, src[s]));
            }
            if (tiled) {
                float[] tile = new float[TILE * DIM];
                z.widenTile(TILE, 0, DIM, tile, 0);
                z.upgradeTile(TILE, 0, DIM, tile, 0);
                for (int s = 0; s < TILE; s++) {
                    float[] want = KvArrayTest.reference(s == 9 || s == 2 ? KvCacheType.Q8_0 : KvCacheType.Q4_0, src[TILE + s]);
                    for (int d = 0; d < DIM; d++) assertThat(tile[TILE * d + s]).as("tile slot %d value %d", s, d).isEqualTo(want[d]);
                }
            } else {
                int[] slotOf = {3, TILE + 9, TILE + 4, TILE + 2};
                float[] rows = new float[4 * 32];
                z.widenRows(slotOf, 0, 4, 32, 32, rows, 0);
                z.upgradeRows(slotOf, 0, 4, 32, 32, rows, 0);
                for (int i = 0; i < 4; i++) {
                    boolean up = i == 1 || i == 3;
                    float[] want = KvArrayTest.reference(up ? KvCacheType.Q8_0 : KvCacheType.Q4_0, src[slotOf[i]]);
                    assertThat(java.util.Arrays.copyOfRange(rows, 32 * i, 32 * i + 32)).containsExactly(java.util.Arrays.copyOfRange(want, 32, 64));
                }
            }
            // a block moves with its upgrades
            ZipArray other = new ZipArray(tiled, SLOTS, DIM, new ZipOptions(2, true));
            ByteBuffer buf = ByteBuffer.allocate(z.exportBytes(TILE)).order(ByteOrder.LITTLE_ENDIAN);
            z.exportSlots(TILE, TILE, buf);
            assertThat(buf.remaining()).isZero();
            other.importSlots(2 * TILE, TILE, buf.flip());
            float[] got = new float[DIM];
            for (int s = 0; s < TILE; s++) {
                z.widenKey(TILE + s, 0, DIM, one, 0, 1);
                z.upgradeKey(TILE + s, 0, DIM, one, 0, 1);
                other.widenKey(2 * TILE + s, 0, DIM, got, 0, 1);
                other.upgradeKey(2 * TILE + s, 0, DIM, got, 0, 1);
                assertThat(got).containsExactly(one);
            }
            assertThat(z.bytes()).isEqualTo(KvCacheType.Q4_0.bytes((long) SLOTS * DIM) + 3L * 2 * (KvCacheType.Q8_0.bytes(DIM) + 1));
            z.copy(2, 5); // within an open block: the base moves
            z.widenKey(5, 0, DIM, one, 0, 1);
            assertThat(one).containsExactly(KvArrayTest.reference(KvCacheType.Q4_0, src[2]));
        }
    }
}
