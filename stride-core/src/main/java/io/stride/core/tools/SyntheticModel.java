package io.stride.core.tools;

import io.stride.core.gguf.GgmlType;
import io.stride.core.gguf.GgufValue;
import io.stride.core.gguf.GgufValueType;
import io.stride.core.gguf.GgufWriter;
import io.stride.core.parallel.WorkerPool;

import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Writes a GGUF model with real shapes and random weights (what {@code stride synth} runs): weights are
 * uniform with the standard deviation of a trained model's (0.02), norms near 1; tensor types follow the same
 * mixture rules as {@code quantize}. Deterministic for a seed, whatever the thread count.
 */
public final class SyntheticModel {
    private SyntheticModel() {}

    public static void write(SynthPreset p, QuantTarget target, Path out, long seed, WorkerPool pool) throws IOException {
        write(p, target, out, seed, pool, Progress.NONE);
    }

    /** As above, telling {@code progress} how many layers are done (the embedding and output count as one each). */
    public static void write(SynthPreset p, QuantTarget target, Path out, long seed, WorkerPool pool, Progress progress) throws IOException {
        write(p, target, out, seed, pool, progress, ChatTemplates.forPreset(p));
    }

    /** As above, with {@code chatTemplate} as {@code tokenizer.chat_template} (null: none). */
    public static void write(SynthPreset p, QuantTarget target, Path out, long seed, WorkerPool pool, Progress progress,
                             String chatTemplate) throws IOException {
        GgufWriter w = new GgufWriter();
        String a = p.arch() + ".";
        w.putString("general.architecture", p.arch())
                .putString("general.name", "synthetic " + p.name())
                .putString("general.description", "random weights with real shapes, written by stride synth (benchmarks only)")
                .put("general.file_type", new GgufValue(GgufValueType.UINT32, (long) target.fileType))
                .put("general.quantization_version", new GgufValue(GgufValueType.UINT32, 2L))
                .putUInt32(a + "context_length", p.context())
                .putUInt32(a + "embedding_length", p.dim())
                .putUInt32(a + "block_count", p.layers())
                .putUInt32(a + "feed_forward_length", p.ffn())
                .putUInt32(a + "attention.head_count", p.heads())
                .putUInt32(a + "attention.head_count_kv", p.kvHeads())
                .putUInt32(a + "rope.dimension_count", p.headDim())
                .putFloat32(a + "rope.freq_base", (float) p.ropeBase())
                .putFloat32(a + "attention.layer_norm_rms_epsilon", 1e-5f)
                .putUInt32(a + "vocab_size", p.vocab());
        SyntheticVocab.write(w, p);
        if (chatTemplate != null) w.putString("tokenizer.chat_template", chatTemplate);
        int[] counter = {0};
        Adder add = (name, cols, rows, scale, offset) -> {
            long[] dims = rows == 1 ? new long[]{cols} : new long[]{cols, rows};
            GgmlType type = target.typeFor(name, dims, p.layers(), !p.tied());
            if (type == null) {
                type = GgmlType.F32;
            }
            long tensorSeed = seed * 1_000_003L + (counter[0]++);
            byte[] data = TensorEncoder.encode(type, rows, cols, (r, dst) -> {
                SplittableRandom rnd = new SplittableRandom(tensorSeed * 0x9E3779B97F4A7C15L + r);
                for (int i = 0; i < cols; i++) {
                    dst[i] = offset + (float) ((rnd.nextDouble() * 2 - 1) * scale);
                }
            }, pool);
            w.addTensor(name, type, dims, data);
        };
        float s = 0.02f * (float) Math.sqrt(3);
        int q = p.heads() * p.headDim();
        int kv = p.kvHeads() * p.headDim();
        add.add("token_embd.weight", p.dim(), p.vocab(), s, 0);
        progress.update(1, p.layers() + 2);
        for (int l = 0; l < p.layers(); l++) {
            progress.update(l + 1, p.layers() + 2);
            String b = "blk." + l + ".";
            add.add(b + "attn_norm.weight", p.dim(), 1, 0.05f, 1);
            add.add(b + "attn_q.weight", p.dim(), q, s, 0);
            add.add(b + "attn_k.weight", p.dim(), kv, s, 0);
            add.add(b + "attn_v.weight", p.dim(), kv, s, 0);
            if (p.qkvBias()) {
                add.add(b + "attn_q.bias", q, 1, s, 0);
                add.add(b + "attn_k.bias", kv, 1, s, 0);
                add.add(b + "attn_v.bias", kv, 1, s, 0);
            }
            add.add(b + "attn_output.weight", q, p.dim(), s, 0);
            add.add(b + "ffn_norm.weight", p.dim(), 1, 0.05f, 1);
            add.add(b + "ffn_gate.weight", p.dim(), p.ffn(), s, 0);
            add.add(b + "ffn_up.weight", p.dim(), p.ffn(), s, 0);
            add.add(b + "ffn_down.weight", p.ffn(), p.dim(), s, 0);
        }
        progress.update(p.layers() + 1, p.layers() + 2);
        add.add("output_norm.weight", p.dim(), 1, 0.05f, 1);
        if (!p.tied()) {
            add.add("output.weight", p.dim(), p.vocab(), s, 0);
        }
        w.write(out);
        progress.update(p.layers() + 2, p.layers() + 2);
    }

    @FunctionalInterface
    private interface Adder {
        void add(String name, int cols, int rows, float scale, float offset) throws IOException;
    }
}
