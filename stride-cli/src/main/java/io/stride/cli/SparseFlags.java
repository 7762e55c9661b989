package io.stride.cli;

import io.stride.core.sparse.SparseAttention;
import picocli.CommandLine.Option;

/** Sparse attention of decode steps ({@code --sparse-attention}); prompts stay dense. */
final class SparseFlags {
    @Option(names = "--sparse-attention", defaultValue = "none", paramLabel = "MODE",
            description = "Sparse attention of decode steps: none (default) or tidal[:budget=N,select=L,reselect=L|none] "
                    + "(TidalDecode: dense layers before 'select', which picks each KV head's N most attended positions; "
                    + "later layers attend to those only, 'reselect' picks again; defaults budget 512, select 2, reselect halfway "
                    + "through the layers after it; sink/window keep the first/last positions), or "
                    + "shadowkv[:budget=2048,rank=R,chunk=8,outliers=48,local=4] (ShadowKV: the prompt's pre-RoPE keys factored "
                    + "to rank R, default 160/1024 of the key width; each KV head attends to the budget's chunks whose landmarks "
                    + "score highest, keys rebuilt from the factors, plus outlier and local chunks and generated positions).")
    String mode;

    /** The mode asked for (null: dense); an error naming the option when it does not parse. */
    SparseAttention mode() {
        try {
            return SparseAttention.parse(mode);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--sparse-attention: " + e.getMessage());
        }
    }
}
