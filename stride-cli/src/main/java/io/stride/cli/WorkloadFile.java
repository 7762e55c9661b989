package io.stride.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Prompts for benchmarks, one JSON object per line: {"id", "kind", "prompt", "max_tokens"} (the java-dev.jsonl format). */
record WorkloadFile(List<Row> rows) {
    record Row(String id, String kind, String prompt, int maxTokens) {}

    static WorkloadFile read(Path path) throws IOException {
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException("workload file not found: " + path);
        }
        ObjectMapper json = new ObjectMapper();
        List<Row> rows = new ArrayList<>();
        int lineNo = 0;
        for (String line : Files.readAllLines(path)) {
            lineNo++;
            if (line.isBlank()) continue;
            JsonNode n;
            try {
                n = json.readTree(line);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalArgumentException(path + ":" + lineNo + ": not JSON: " + e.getOriginalMessage());
            }
            if (n == null || !n.path("prompt").isTextual()) {
                throw new IllegalArgumentException(path + ":" + lineNo + ": each line needs a string \"prompt\"");
            }
            int max = n.path("max_tokens").asInt(128);
            rows.add(new Row(n.path("id").asText("row-" + lineNo), n.path("kind").asText("default"), n.get("prompt").asText(), max > 0 ? max : 128));
        }
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("workload file has no rows: " + path);
        }
        return new WorkloadFile(rows);
    }
}
