package io.stride.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Kubernetes manifests under deploy/ stay in step with the CLI: every Stride container's arguments parse as a
 * {@code stride serve} command line, its probes hit /ready and /health on the port it serves, and the grace period
 * outlasts the drain.
 */
class DeployManifestsTest {
    static Path deployDir() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("deploy/k8s"))) return p.resolve("deploy/k8s");
        }
        throw new AssertionError("deploy/k8s not found");
    }

    @Test
    void strideContainersParseAndProbeTheRealEndpoints() throws Exception {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        int containers = 0;
        List<Path> files;
        try (Stream<Path> s = Files.list(deployDir())) {
            files = s.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
        }
        assertThat(files).isNotEmpty();
        for (Path f : files) {
            try (YAMLParser parser = new YAMLFactory().createParser(f.toFile())) {
                for (JsonNode doc : yaml.readValues(parser, JsonNode.class).readAll()) {
                    if (!"Deployment".equals(doc.path("kind").asText())) continue;
                    JsonNode pod = doc.path("spec").path("template").path("spec");
                    for (JsonNode c : pod.path("containers")) {
                        if (!c.path("image").asText().startsWith("stride:")) continue;
                        containers++;
                        List<String> args = new ArrayList<>();
                        c.path("args").forEach(a -> args.add(a.asText().replace("$(STRIDE_API_KEY)", "k")));
                        assertThat(args.getFirst()).as(f + ": subcommand").isEqualTo("serve");
                        CommandLine cl = StrideCli.commandLine(new PrintStream(OutputStream.nullOutputStream()),
                                new PrintStream(OutputStream.nullOutputStream()));
                        CommandLine.ParseResult r = cl.parseArgs(args.toArray(String[]::new));
                        CommandLine.ParseResult serve = r.subcommand();
                        assertThat(serve.commandSpec().name()).isEqualTo("serve");
                        ServeCommand cmd = (ServeCommand) serve.commandSpec().userObject();
                        cmd.cluster.check(true); // role, store and prefill URL consistent
                        int port = serve.matchedOptionValue("--port", 8080);
                        assertThat(c.path("readinessProbe").path("httpGet").path("path").asText()).as(f.toString()).isEqualTo("/ready");
                        assertThat(c.path("livenessProbe").path("httpGet").path("path").asText()).as(f.toString()).isEqualTo("/health");
                        boolean portNamed = false;
                        for (JsonNode p : c.path("ports")) {
                            portNamed |= p.path("containerPort").asInt() == port && p.path("name").asText().equals("http");
                        }
                        assertThat(portNamed).as(f + ": container port http = --port").isTrue();
                        int drain = serve.matchedOptionValue("--shutdown-timeout", 30);
                        assertThat(pod.path("terminationGracePeriodSeconds").asInt(30)).as(f + ": grace period vs drain").isGreaterThan(drain);
                    }
                }
            }
        }
        assertThat(containers).isGreaterThanOrEqualTo(3);
    }
}
