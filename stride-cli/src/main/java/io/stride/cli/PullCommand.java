package io.stride.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "pull", description = "Download a GGUF model from Hugging Face (or HF_ENDPOINT) into the local cache and print its path; "
        + "resumes an interrupted download and checks its SHA-256.")
final class PullCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    CommonOptions common;

    @Parameters(index = "0", paramLabel = "OWNER/NAME[:QUANT]", description = "Repository, and optionally the quantization to pick "
            + "(default: the first of Q4_K_M, Q4_K_S, Q5_K_M, Q4_0, Q6_K, Q8_0, F16 it has).")
    String ref;
    @Option(names = "--file", description = "The file to fetch, by its path in the repository (instead of choosing by quantization).")
    String file;
    @Option(names = "--revision", defaultValue = "main", description = "Branch, tag or commit (default ${DEFAULT-VALUE}).")
    String revision;
    @Option(names = "--cache-dir", description = "Where models are kept (default: $STRIDE_CACHE, else $XDG_CACHE_HOME/stride, else ~/.cache/stride).")
    Path cacheDir;
    @Option(names = "--hf-endpoint", description = "Hub address (default: $HF_ENDPOINT, else https://huggingface.co).")
    String endpoint;

    @Override
    public Integer call() throws Exception {
        Path p = fetch(spec, ref, file, revision, cacheDir, endpoint);
        spec.commandLine().getOut().println(p);
        spec.commandLine().getOut().flush();
        return 0;
    }

    /** The model a command runs: its -m file, or its -hf repository fetched into the cache; exactly one of them. */
    static Path modelPath(CommandSpec spec, Path model, String hfRepo) throws Exception {
        if ((model == null) == (hfRepo == null)) {
            throw new IllegalArgumentException("give the model as -m FILE or as -hf OWNER/NAME[:QUANT] (one of them)");
        }
        return model != null ? model : fetch(spec, hfRepo, null, "main", null, null);
    }

    /** The local path of a hub model, fetched with a progress bar if it is not in the cache (shared with -hf options). */
    static Path fetch(CommandSpec spec, String ref, String file, String revision, Path cacheDir, String endpoint) throws Exception {
        HubDownload hub = new HubDownload(endpoint != null ? endpoint : HubDownload.defaultEndpoint(), System.getenv("HF_TOKEN"),
                (cacheDir != null ? cacheDir : HubDownload.defaultCache()).toAbsolutePath().normalize());
        try (ProgressBar bar = ProgressBar.onStderr(spec.commandLine().getErr(), "stride: fetching " + ref)) {
            return hub.fetch(ref, file, revision, bar);
        }
    }
}
