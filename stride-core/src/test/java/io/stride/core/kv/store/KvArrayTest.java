package io.stride.core.kv.store;

import io.stride.core.kv.KvCacheType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every cache type stores what ggml's reference conversions (transcribed below, independently of the arrays) make of
 * the values, and every widening path (tile, one key, rows) gives the same floats.
 */
class KvArrayTest {
    private static final int DIM = 128, SLOTS = 40, TILE = KvArray.TILE;

    @ParameterizedTest
    @EnumSource(value = KvCacheType.class, mode = EnumSource.Mode.EXCLUDE, names = "ZIP") // zip: ZipArrayTest
    void aBlockExportedFromOneArrayImportsIntoAnotherAsStored(KvCacheType type) {
        for (boolean tiled : new boolean[] {true, false}) {
            Random r = new Random(11);
            KvArray a = KvArray.of(type, tiled, 48, DIM), b = KvArray.of(type, tiled, 48, DIM);
            float[] x = new float[DIM];
            for (int s = 0; s < 48; s++) {
                for (int j = 0; j < DIM; j++) x[j] = (float) r.nextGaussian();
                a.write(s, x, 0);
            }
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(TILE * a.slotBytes() + 3).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            buf.put((byte) 1); // an odd start: the copy must not assume alignment
            a.exportSlots(16, TILE, buf);
            assertThat(buf.position()).isEqualTo(1 + TILE * a.slotBytes());
            buf.flip().get();
            b.importSlots(32, TILE, buf);
            float[] want = new float[DIM], got = new float[DIM];
            for (int s = 0; s < TILE; s++) {
                a.widenKey(16 + s, 0, DIM, want, 0, 1);
                b.widenKey(32 + s, 0, DIM, got, 0, 1);
                assertThat(got).as("%s %s slot %d", type, tiled ? "tiles" : "rows", s).containsExactly(want);
            }
            if (tiled) {
                KvArray t = a;
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> t.exportSlots(8, TILE, java.nio.ByteBuffer.allocate(1 << 16)))
                        .isInstanceOf(IllegalArgumentException.class);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = KvCacheType.class, mode = EnumSource.Mode.EXCLUDE, names = "ZIP") // zip: ZipArrayTest
    void storesGgmlsValuesAndEveryPathWidensThemAlike(KvCacheType type) {
        for (boolean tiled : new boolean[] {true, false}) {
            Random r = new Random(7);
            KvArray a = KvArray.of(type, tiled, SLOTS, DIM);
            float[][] src = new float[SLOTS][DIM];
            for (int s = 0; s < SLOTS; s++) {
                for (int j = 0; j < DIM; j++) {
                    src[s][j] = (float) (r.nextGaussian() * (s % 5 == 0 ? 30 : 1));
                }
                if (s == 3) {
                    java.util.Arrays.fill(src[s], 0, 32, 0f); // an all-zero block: scale 0
                }
                a.write(s, src[s], 0);
            }
            float[] one = new float[DIM];
            for (int s = 0; s < SLOTS; s++) {
                float[] expect = reference(type, src[s]);
                a.widenKey(s, 0, DIM, one, 0, 1);
                assertThat(one).as("%s %s slot %d", type, tiled ? "tiles" : "rows", s).containsExactly(expect);
                float[] part = new float[64];
                a.widenKey(s, 64, 64, part, 0, 1);
                assertThat(part).containsExactly(java.util.Arrays.copyOfRange(expect, 64, 128));
            }
            if (tiled) {
                float[] tile = new float[TILE * 64];
                for (int t0 = 0; t0 + TILE <= SLOTS; t0 += TILE) {
                    a.widenTile(t0, 64, 64, tile, 0);
                    for (int s = 0; s < TILE; s++) {
                        float[] expect = reference(type, src[t0 + s]);
                        for (int d = 0; d < 64; d++) {
                            assertThat(tile[TILE * d + s]).isEqualTo(expect[64 + d]);
                        }
                    }
                }
            } else {
                int[] slotOf = {5, 17, 2, 39, 0};
                float[] rows = new float[5 * 64];
                a.widenRows(slotOf, 1, 4, 32, 64, rows, 0);
                for (int i = 0; i < 4; i++) {
                    float[] expect = reference(type, src[slotOf[1 + i]]);
                    assertThat(java.util.Arrays.copyOfRange(rows, i * 64, i * 64 + 64))
                            .containsExactly(java.util.Arrays.copyOfRange(expect, 32, 96));
                }
            }
            a.copy(17, 2);
            a.widenKey(2, 0, DIM, one, 0, 1);
            assertThat(one).containsExactly(reference(type, src[17]));
            assertThat(a.bytes()).isEqualTo(type.bytes((long) (tiled ? 48 : 40) * DIM));
        }
    }

    /** ggml's reference round trip of one row: quantize_row_*_ref then dequantize_row_*. */
    static float[] reference(KvCacheType type, float[] x) {
        float[] y = new float[x.length];
        switch (type) {
            case F32 -> System.arraycopy(x, 0, y, 0, x.length);
            case F16 -> {
                for (int i = 0; i < x.length; i++) y[i] = Float.float16ToFloat(Float.floatToFloat16(x[i]));
            }
            case BF16 -> {
                for (int i = 0; i < x.length; i++) {
                    int u = Float.floatToRawIntBits(x[i]);
                    y[i] = Float.intBitsToFloat(((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16);
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < x.length; b += 32) {
                    float amax = 0;
                    for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[b + i]));
                    float d = amax / 127;
                    float id = d != 0 ? 1 / d : 0;
                    float dh = Float.float16ToFloat(Float.floatToFloat16(d));
                    for (int i = 0; i < 32; i++) y[b + i] = dh * (float) roundf(x[b + i] * id);
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < x.length; b += 32) {
                    float amax = 0, max = 0;
                    for (int i = 0; i < 32; i++) {
                        if (amax < Math.abs(x[b + i])) {
                            amax = Math.abs(x[b + i]);
                            max = x[b + i];
                        }
                    }
                    float d = max / -8;
                    float id = d != 0 ? 1 / d : 0;
                    float dh = Float.float16ToFloat(Float.floatToFloat16(d));
                    for (int i = 0; i < 32; i++) {
                        int q = Math.min(15, (int) (x[b + i] * id + 8.5f));
                        y[b + i] = dh * (q - 8);
                    }
                }
            }
        }
        return y;
    }

    private static long roundf(float v) {
        return v < 0 ? -Math.round(Math.floor(-(double) v + 0.5)) : Math.round(Math.floor(v + 0.5));
    }
}
