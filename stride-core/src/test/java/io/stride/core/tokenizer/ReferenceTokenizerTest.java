package io.stride.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.stride.core.SharedData;
import io.stride.core.model.Model;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Token ids identical to HF tokenizers (javatiny, byte-level BPE) and llama.cpp (stories260K, SentencePiece). */
class ReferenceTokenizerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static int[] ids(JsonNode arr) {
        int[] r = new int[arr.size()];
        for (int i = 0; i < r.length; i++) r[i] = arr.get(i).asInt();
        return r;
    }

    @Test
    void javatinyMatchesHuggingFace() throws IOException {
        JsonNode ref = JSON.readTree(SharedData.require("reference/javatiny/tokenizer.json").toFile());
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf"))) {
            Tokenizer t = m.tokenizer();
            List<String> failures = new ArrayList<>();
            int n = 0;
            for (JsonNode c : ref.get("cases")) {
                String text = c.get("text").asText();
                int[] expected = ids(c.get("ids"));
                int[] got = t.encode(text, false, true);
                if (!Arrays.equals(expected, got)) {
                    failures.add(text + "\n expected " + Arrays.toString(expected) + "\n got      " + Arrays.toString(got));
                }
                int[] withBos = t.encode(text, true, true);
                assertThat(withBos[0]).isEqualTo(t.vocabulary().bos());
                assertThat(Arrays.copyOfRange(withBos, 1, withBos.length)).isEqualTo(got);
                if (!text.contains("<|endoftext|>")) {
                    assertThat(t.decode(got)).as("round trip").isEqualTo(text);
                }
                n++;
            }
            assertThat(failures).as("mismatches").isEmpty();
            assertThat(n).isEqualTo(44);
        }
    }

    @Test
    void stories260KMatchesLlamaCpp() throws IOException {
        JsonNode ref = JSON.readTree(SharedData.require("reference/stories260K/tokenizer.json").toFile());
        try (Model m = Model.open(SharedData.model("stories260K.gguf"))) {
            Tokenizer t = m.tokenizer();
            List<String> failures = new ArrayList<>();
            int n = 0;
            for (JsonNode c : ref.get("cases")) {
                String text = c.get("text").asText();
                int[] got = t.encode(text, false, true);
                int[] gotBos = t.encode(text, true, true);
                if (!Arrays.equals(ids(c.get("ids")), got)) {
                    failures.add("'" + text + "' expected " + Arrays.toString(ids(c.get("ids"))) + " got " + Arrays.toString(got));
                }
                if (!Arrays.equals(ids(c.get("ids_with_bos")), gotBos)) {
                    failures.add("'" + text + "' (bos) expected " + Arrays.toString(ids(c.get("ids_with_bos"))) + " got " + Arrays.toString(gotBos));
                }
                n++;
            }
            assertThat(failures).as("mismatches").isEmpty();
            assertThat(n).isEqualTo(60);
        }
    }
}
