package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.stride.core.SharedData;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/** Prompts from shared/workloads/java-dev.jsonl. */
final class Workload {
    private Workload() {}

    static List<String> prompts(String kind) throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(SharedData.require("workloads/java-dev.jsonl"))) {
            if (line.isBlank()) continue;
            JsonNode n = TestServer.JSON.readTree(line);
            if (kind == null || n.get("kind").asText().equals(kind)) out.add(n.get("prompt").asText());
        }
        return out;
    }
}
