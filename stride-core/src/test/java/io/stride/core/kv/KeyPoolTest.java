package io.stride.core.kv;

import io.stride.core.engine.EngineListener;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Keys in a pool of their own: a block takes a key block when allocated and gives it back when freed or dropped; a
 * dropped block leaves the prefix cache; a cached block keeps its key block while parked; slots map to key slots.
 */
class KeyPoolTest {
    private static final KvCacheConfig HALF = KvCacheConfig.of(KvCacheType.F16).withKeyShare(0.5);

    @Test
    void blocksNeedAKeyBlockAndDroppingGivesItBack() {
        PagedKvCache cache = new PagedKvCache(HALF, 2, 32, 32, 16, 8);
        BlockAllocator a = cache.allocator();
        assertThat(a.keyCapacity()).isEqualTo(4);
        assertThat(cache.usableBlocks()).isEqualTo(4);
        assertThat(a.freeCount()).isEqualTo(4);
        KvSequence s = cache.newSequence();
        assertThat(cache.reserve(s, 4 * 16)).isTrue();
        assertThat(a.freeCount()).as("4 blocks free, no key block").isZero();
        assertThat(cache.reserve(s, 5 * 16)).isFalse();
        assertThat(a.allocate()).isEqualTo(-1);
        // every key slot is distinct and inside the key pool
        java.util.Set<Integer> keyBlocks = new java.util.HashSet<>();
        for (int i = 0; i < 4; i++) keyBlocks.add(a.keyBlock(s.block(i)));
        assertThat(keyBlocks).containsExactlyInAnyOrder(0, 1, 2, 3);

        assertThat(cache.dropPromptKeys(s, 40)).as("two whole blocks before position 40").isEqualTo(2);
        assertThat(s.keysGivenBack()).isEqualTo(32);
        assertThat(a.keyBlock(s.block(0))).isEqualTo(-1);
        assertThat(a.freeKeyCount()).isEqualTo(2);
        assertThat(cache.reserve(s, 6 * 16)).as("two more blocks, with the keys given back").isTrue();
        assertThatThrownBy(() -> cache.truncate(s, 20)).hasMessageContaining("given back");
        s.noteSparse(60); // a ShadowKV prompt of 60 positions: back into it would read every key densely
        assertThatThrownBy(() -> cache.truncate(s, 50)).hasMessageContaining("given back");
        cache.truncate(s, 60);
        cache.release(s);
        assertThat(a.freeKeyCount()).isEqualTo(4);
        assertThat(a.freeCount()).isEqualTo(4);
        assertThat(a.usedCount()).isZero();
    }

    @Test
    void keysAreStoredAtTheirBlocksKeyBlock() {
        PagedKvCache cache = new PagedKvCache(HALF, 1, 32, 32, 16, 8);
        KvSequence other = cache.newSequence(), s = cache.newSequence();
        cache.reserve(other, 16); // s's blocks do not get key blocks of their own numbers
        cache.reserve(s, 48);
        float[] k = new float[32], back = new float[32];
        for (int p = 0; p < 48; p++) {
            for (int j = 0; j < 32; j++) k[j] = p + j / 64f;
            cache.writeKey(0, s.slot(p), k, 0);
        }
        for (int p = 0; p < 48; p++) {
            int ks = cache.keySlot(s.slot(p));
            assertThat(ks / 16).isEqualTo(cache.allocator().keyBlock(s.block(p / 16)));
            cache.keys(0).widenKey(ks, 0, 32, back, 0, 1);
            assertThat(back[0]).isEqualTo(p);
        }
        cache.move(s, 40, 20);
        cache.keys(0).widenKey(cache.keySlot(s.slot(20)), 0, 32, back, 0, 1);
        assertThat(back[0]).isEqualTo(40);
    }

    @Test
    void sharedBlocksKeepTheirKeysAndDroppedOnesLeaveThePrefixCache() {
        List<Long> removed = new ArrayList<>();
        PagedKvCache cache = new PagedKvCache(HALF, 1, 32, 32, 16, 8);
        PrefixCache prefix = new PrefixCache(cache, new EngineListener() {
            @Override
            public void blockRemoved(long hash) {
                removed.add(hash);
            }
        });
        BlockAllocator a = cache.allocator();
        int[] tokens = new int[48];
        for (int i = 0; i < tokens.length; i++) tokens[i] = i;
        KvSequence s = cache.newSequence();
        cache.reserve(s, 48);
        long parent = 0;
        long[] hashes = new long[3];
        for (int i = 0; i < 3; i++) {
            hashes[i] = PrefixCache.blockHash(parent, tokens, i * 16, 16, 0);
            prefix.register(s.block(i), hashes[i], parent, tokens, i * 16);
            parent = hashes[i];
        }
        a.retain(s.block(1)); // another sequence holds block 1
        assertThat(cache.dropPromptKeys(s, 48)).isEqualTo(2);
        assertThat(a.keyBlock(s.block(1))).as("shared: kept").isGreaterThanOrEqualTo(0);
        assertThat(prefix.contains(hashes[0])).isFalse();
        assertThat(prefix.contains(hashes[1])).isTrue();
        assertThat(prefix.contains(hashes[2])).isFalse();
        assertThat(removed).containsExactly(hashes[0], hashes[2]);
        int b1 = s.block(1);
        cache.release(s);
        a.release(b1);
        // block 1 is parked in the prefix cache with its key block; the dropped ones went to the free list
        assertThat(a.freeKeyCount()).isEqualTo(3);
        assertThat(a.freeCount()).isEqualTo(4);
        KvSequence t = cache.newSequence();
        assertThat(cache.reserve(t, 4 * 16)).as("three fresh blocks, then the cached one evicted").isTrue();
        assertThat(prefix.contains(hashes[1])).isFalse();
        assertThat(a.freeKeyCount()).isZero();
    }

    @Test
    void theKeyShareIsCheckedAndCounted() {
        assertThatThrownBy(() -> KvCacheConfig.DEFAULT.withKeyShare(0)).hasMessageContaining("--kv-key-share");
        assertThatThrownBy(() -> KvCacheConfig.DEFAULT.withKeyShare(1.5)).hasMessageContaining("--kv-key-share");
        assertThatThrownBy(() -> KvCacheConfig.of(KvCacheType.ZIP, KvCacheType.Q4_0).withKeyShare(0.5)).hasMessageContaining("zip");
        assertThatThrownBy(() -> new PagedKvCache(HALF, 1, 32, 32, 8, 8)).hasMessageContaining("multiple of 16");
        assertThat(KvCacheConfig.DEFAULT.separateKeys()).isFalse();
        assertThat(HALF.keyBlocks(7)).isEqualTo(4);
        // f16: 2 bytes per value; keys count at half
        long full = KvCacheSize.bytesPerBlock(2, 64, 64, KvCacheConfig.DEFAULT, 16);
        assertThat(full).isEqualTo(2L * 2 * 16 * 64 * 2);
        assertThat(KvCacheSize.bytesPerBlock(2, 64, 64, HALF, 16)).isEqualTo(full * 3 / 4);
        PagedKvCache same = new PagedKvCache(KvCacheConfig.DEFAULT, 1, 32, 32, 16, 8);
        assertThat(same.keySlot(37)).isEqualTo(37);
        assertThat(same.dropPromptKeys(same.newSequence(), 64)).isZero();
    }
}
