package io.stride.cli;

import io.stride.core.gguf.GgmlType;
import io.stride.core.gguf.GgufFile;
import io.stride.core.gguf.GgufTensorInfo;
import io.stride.core.model.Model;
import io.stride.core.model.ModelConfig;
import io.stride.core.tokenizer.BytePairTokenizer;
import io.stride.core.tokenizer.Tokenizer;
import io.stride.core.tokenizer.Vocabulary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

@Command(name = "info", description = "Show a model's architecture, shapes, tensor types, tokenizer and context.")
final class InfoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    @Parameters(index = "0", paramLabel = "MODEL", description = "GGUF model file.")
    Path model;
    @Option(names = "--metadata", description = "Also list every metadata key.")
    boolean metadata;
    @Option(names = "--tensors", description = "Also list every tensor.")
    boolean tensors;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (Model m = Model.open(model)) {
            GgufFile f = m.file();
            ModelConfig c = m.config();
            out.printf("file:            %s (GGUF v%d, %d tensors, %d metadata keys)%n", model, f.version(), f.tensors().size(), f.metadata().size());
            out.printf("name:            %s%n", f.meta().string("general.name", "(none)"));
            out.printf("architecture:    %s (rope %s)%n", c.arch().name(), c.arch().rope().name().toLowerCase());
            if (m.isDiffusion()) {
                out.printf("diffusion:       bidirectional attention, mask token %d, shift_logits %s%n",
                        io.stride.core.diffusion.DiffusionDecoder.maskToken(m), m.file().meta().bool("diffusion.shift_logits", true));
            }
            out.printf("embedding:       %d%n", c.dim());
            out.printf("layers:          %d%n", c.layers());
            out.printf("heads:           %d (kv %d, head size k %d / v %d)%n", c.heads(), c.kvHeads(), c.headDimK(), c.headDimV());
            out.printf("feed-forward:    %d%n", c.ffnDim());
            out.printf("vocabulary:      %d%n", c.vocab());
            out.printf("context length:  %d%n", c.contextLength());
            out.printf("rope:            base %.1f, dims %d, freq scale %.4f%s%n", c.ropeBase(), c.ropeDim(), c.ropeFreqScale(),
                    m.weights().ropeFreqFactors() != null ? ", rope_freqs factors" : "");
            out.printf("output:          %s%n", m.weights().output() == m.weights().tokenEmbedding() ? "tied to token embedding" : "separate");
            Map<GgmlType, long[]> byType = new TreeMap<>();
            long params = 0;
            for (GgufTensorInfo t : f.tensors().values()) {
                long[] acc = byType.computeIfAbsent(t.type(), k -> new long[2]);
                acc[0]++;
                acc[1] += t.byteSize();
                params += t.elementCount();
            }
            StringBuilder types = new StringBuilder();
            byType.forEach((t, a) -> types.append(String.format("%s %d (%.1f MiB)  ", t, a[0], a[1] / 1048576.0)));
            out.printf("parameters:      %.2f M%n", params / 1e6);
            out.printf("tensor types:    %s%n", types.toString().trim());
            Tokenizer tok = m.tokenizer();
            Vocabulary v = tok.vocabulary();
            String kind = tok instanceof BytePairTokenizer b ? "byte-level BPE (pre-tokenizer " + b.preTokenizer().name() + ")" : "SentencePiece";
            out.printf("tokenizer:       %s, %d tokens, bos %d, eos %d, add bos %s%n", kind, v.size(), v.bos(), v.eos(), v.addBos());
            out.printf("chat template:   %s%n", f.metadata().containsKey("tokenizer.chat_template") ? "present" : "absent");
            if (metadata) {
                f.metadata().forEach((k, val) -> out.printf("  %-45s %s%n", k, val.describe()));
            }
            if (tensors) {
                for (GgufTensorInfo t : f.tensors().values()) {
                    out.printf("  %-40s %-6s %s%n", t.name(), t.type(), t.shape());
                }
            }
        }
        out.flush();
        return 0;
    }
}
