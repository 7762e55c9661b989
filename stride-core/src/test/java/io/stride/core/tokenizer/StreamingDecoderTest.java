package io.stride.core.tokenizer;

import io.stride.core.SharedData;
import io.stride.core.model.Model;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class StreamingDecoderTest {
    @Test
    void neverEmitsHalfACharacter() {
        try (Model m = Model.open(SharedData.model("javatiny-26m-f16.gguf"))) {
            Tokenizer t = m.tokenizer();
            String text = "héllo wörld ✓ 🎉 日本語 end";
            int[] ids = t.encode(text, false, true);
            StreamingDecoder d = new StreamingDecoder(t);
            StringBuilder sb = new StringBuilder();
            int partial = 0;
            for (int id : ids) {
                String piece = d.next(id);
                assertThat(piece).doesNotContain("\uFFFD");
                if (piece.isEmpty()) partial++;
                if (!piece.isEmpty()) {
                    assertThat(Character.isHighSurrogate(piece.charAt(piece.length() - 1))).isFalse();
                }
                sb.append(piece);
            }
            sb.append(d.flush());
            assertThat(sb.toString()).isEqualTo(text);
            assertThat(partial).as("some tokens end inside a character").isPositive();
        }
    }

    @Test
    void stories260KByteFallbackDecodes() {
        try (Model m = Model.open(SharedData.model("stories260K.gguf"))) {
            Tokenizer t = m.tokenizer();
            String text = "naïve café 日本語";
            assertThat(t.decode(t.encode(text, false, true))).isEqualTo(" " + text);
        }
    }

    @Test
    void completePrefix() {
        byte[] euro = "€".getBytes(StandardCharsets.UTF_8);
        assertThat(StreamingDecoder.completePrefix(new byte[]{'a', euro[0], euro[1]})).isEqualTo(1);
        assertThat(StreamingDecoder.completePrefix(new byte[]{'a', euro[0], euro[1], euro[2]})).isEqualTo(4);
        assertThat(StreamingDecoder.completePrefix(new byte[]{'a'})).isEqualTo(1);
    }
}
