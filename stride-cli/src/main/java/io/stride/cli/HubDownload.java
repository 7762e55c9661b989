package io.stride.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.tools.Progress;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * Fetches a GGUF file from a Hugging Face repository (or a mirror with the same URL layout: {@code HF_ENDPOINT})
 * into a local cache, as llama.cpp's {@code -hf} and Ollama's pull do. A file arrives as {@code NAME.part}, resumes
 * with an HTTP range request after a cut connection (here or in a later run), is checked against the size and
 * SHA-256 the repository lists, and only then takes its final name: a file under the final name is complete.
 */
final class HubDownload {
    /** A file the repository lists: its path, size and (for LFS files) SHA-256. */
    record RemoteFile(String path, long size, String sha256) {}

    /** Quantizations chosen, in order, when a repository reference names none. */
    static final List<String> PREFERRED = List.of("Q4_K_M", "Q4_K_S", "Q5_K_M", "Q4_0", "Q6_K", "Q8_0", "F16");
    static final int ATTEMPTS = 5;

    private final String endpoint;
    private final String token;
    private final Path cache;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20))
            .followRedirects(HttpClient.Redirect.NEVER).build();
    private final ObjectMapper json = new ObjectMapper();

    HubDownload(String endpoint, String token, Path cache) {
        this.endpoint = endpoint.replaceAll("/+$", "");
        this.token = token == null || token.isBlank() ? null : token;
        this.cache = cache;
    }

    /** The cache directory: $STRIDE_CACHE, else $XDG_CACHE_HOME/stride, else ~/.cache/stride. */
    static Path defaultCache() {
        String own = System.getenv("STRIDE_CACHE");
        if (own != null && !own.isBlank()) return Path.of(own);
        String xdg = System.getenv("XDG_CACHE_HOME");
        return (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache")).resolve("stride");
    }

    static String defaultEndpoint() {
        String e = System.getenv("HF_ENDPOINT");
        return e == null || e.isBlank() ? "https://huggingface.co" : e;
    }

    /**
     * The local path of {@code ref} ({@code owner/repo[:QUANT]}), downloading it unless the cache has it.
     * {@code file}, when given, names the file in the repository instead of choosing by quantization.
     */
    Path fetch(String ref, String file, String revision, Progress progress) throws IOException, InterruptedException {
        int colon = ref.indexOf(':');
        String repo = colon < 0 ? ref : ref.substring(0, colon);
        String quant = colon < 0 ? null : ref.substring(colon + 1);
        if (!repo.matches("[A-Za-z0-9._-]+/[A-Za-z0-9._-]+") || repo.contains("..")) {
            throw new IllegalArgumentException("a Hugging Face repository is OWNER/NAME[:QUANT], got '" + ref + "'");
        }
        RemoteFile remote = choose(repo, list(repo, revision), quant, file);
        Path target = cache.resolve(repo).resolve(revision).resolve(remote.path()).normalize();
        if (!target.startsWith(cache)) {
            throw new IllegalArgumentException("the repository lists a file outside its folder: " + remote.path());
        }
        if (Files.isRegularFile(target) && Files.size(target) == remote.size()) {
            return target;
        }
        Files.createDirectories(target.getParent());
        Path part = target.resolveSibling(target.getFileName() + ".part");
        URI url = URI.create(endpoint + "/" + repo + "/resolve/" + revision + "/" + remote.path());
        for (int attempt = 1; ; attempt++) {
            try {
                download(url, part, remote.size(), progress);
                break;
            } catch (IOException e) {
                if (attempt >= ATTEMPTS) {
                    throw new IOException("downloading " + url + " failed " + ATTEMPTS + " times (" + e.getMessage()
                            + "); run the command again to resume from " + Files.size(part) + " bytes", e);
                }
                Thread.sleep(Math.min(8000, 250L << attempt));
            }
        }
        verify(part, remote, url);
        Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return target;
    }

    List<RemoteFile> list(String repo, String revision) throws IOException, InterruptedException {
        URI url = URI.create(endpoint + "/api/models/" + repo + "/tree/" + revision + "?recursive=true");
        HttpResponse<String> r = send(url, HttpResponse.BodyHandlers.ofString(), null);
        if (r.statusCode() == 401 || r.statusCode() == 403) {
            throw new IOException(repo + ": access denied (HTTP " + r.statusCode() + "); a gated or private repository needs HF_TOKEN");
        }
        if (r.statusCode() == 404) {
            throw new IOException(repo + ": no such repository or revision '" + revision + "' at " + endpoint);
        }
        if (r.statusCode() != 200) {
            throw new IOException(url + ": HTTP " + r.statusCode());
        }
        List<RemoteFile> out = new ArrayList<>();
        for (JsonNode f : json.readTree(r.body())) {
            if (!"file".equals(f.path("type").asText())) continue;
            JsonNode lfs = f.get("lfs");
            String sha = lfs != null && lfs.hasNonNull("oid") ? lfs.get("oid").asText() : null;
            long size = lfs != null && lfs.has("size") ? lfs.get("size").asLong() : f.path("size").asLong(-1);
            out.add(new RemoteFile(f.path("path").asText(), size, sha));
        }
        return out;
    }

    static RemoteFile choose(String repo, List<RemoteFile> files, String quant, String file) {
        List<RemoteFile> ggufs = files.stream().filter(f -> f.path().toLowerCase(Locale.ROOT).endsWith(".gguf"))
                .filter(f -> !f.path().toLowerCase(Locale.ROOT).contains("mmproj")).toList();
        if (file != null) {
            return files.stream().filter(f -> f.path().equals(file)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException(repo + " has no file " + file + "; GGUF files: " + names(ggufs)));
        }
        if (ggufs.isEmpty()) {
            throw new IllegalArgumentException(repo + " has no GGUF file");
        }
        List<String> wanted = quant != null ? List.of(quant) : PREFERRED;
        for (String q : wanted) {
            List<RemoteFile> hits = ggufs.stream().filter(f -> f.path().toUpperCase(Locale.ROOT).contains(q.toUpperCase(Locale.ROOT))).toList();
            if (hits.size() == 1) return hits.getFirst();
            if (hits.size() > 1) {
                if (hits.stream().anyMatch(f -> f.path().matches(".*-\\d{5}-of-\\d{5}\\.gguf"))) {
                    throw new IllegalArgumentException(repo + ": the " + q + " model is split into several files, which Stride cannot load yet: " + names(hits));
                }
                throw new IllegalArgumentException(repo + ": several files match " + q + " (" + names(hits) + "); name one with --file");
            }
        }
        if (quant != null) {
            throw new IllegalArgumentException(repo + " has no GGUF file for " + quant + "; it has: " + names(ggufs));
        }
        if (ggufs.size() == 1) return ggufs.getFirst();
        throw new IllegalArgumentException(repo + " has several GGUF files (" + names(ggufs) + "); name a quantization (OWNER/NAME:Q4_K_M) or --file");
    }

    private static String names(List<RemoteFile> files) {
        return String.join(", ", files.stream().map(RemoteFile::path).toList());
    }

    /** Appends the rest of the file to {@code part}, from its current size on. */
    private void download(URI url, Path part, long size, Progress progress) throws IOException, InterruptedException {
        long have = Files.exists(part) ? Files.size(part) : 0;
        if (size >= 0 && have >= size) {
            return;
        }
        HttpResponse<InputStream> r = send(url, HttpResponse.BodyHandlers.ofInputStream(), have > 0 ? "bytes=" + have + "-" : null);
        try (InputStream in = r.body()) {
            boolean append = r.statusCode() == 206;
            if (r.statusCode() != 200 && !append) {
                throw new IllegalStateException(url + ": HTTP " + r.statusCode());
            }
            if (!append) have = 0; // the server ignored the range: start over
            try (OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    out.write(buf, 0, n);
                    have += n;
                    progress.update(have, size);
                }
            }
        }
        if (size >= 0 && have < size) {
            throw new IOException("connection ended after " + have + " of " + size + " bytes");
        }
    }

    private static void verify(Path part, RemoteFile remote, URI url) throws IOException {
        long size = Files.size(part);
        String why = null;
        if (remote.size() >= 0 && size != remote.size()) {
            why = "size " + size + " instead of " + remote.size();
        } else if (remote.sha256() != null) {
            String got = sha256(part);
            if (!got.equalsIgnoreCase(remote.sha256())) why = "SHA-256 " + got + " instead of " + remote.sha256();
        }
        if (why != null) {
            Files.deleteIfExists(part);
            throw new IOException(url + ": checksum mismatch (" + why + "); the partial file was removed");
        }
    }

    static String sha256(Path p) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) >= 0) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** GET, following up to 5 redirects by hand: the token goes only to the endpoint's own host, never to a CDN. */
    private <T> HttpResponse<T> send(URI url, HttpResponse.BodyHandler<T> body, String range) throws IOException, InterruptedException {
        URI u = url;
        for (int hop = 0; hop < 6; hop++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(u).timeout(Duration.ofMinutes(10)).GET();
            if (range != null) b.header("Range", range);
            if (token != null && u.getHost() != null && u.getHost().equals(URI.create(endpoint).getHost())) {
                b.header("Authorization", "Bearer " + token);
            }
            HttpResponse<T> r = http.send(b.build(), body);
            if (r.statusCode() / 100 != 3 || r.headers().firstValue("Location").isEmpty()) {
                return r;
            }
            if (r.body() instanceof InputStream in) in.close();
            u = u.resolve(r.headers().firstValue("Location").get());
        }
        throw new IOException(url + ": too many redirects");
    }
}
