package io.stride.core.diffusion;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Learn2PD's filter: a logistic model that says, from what the decoder knows about a masked position at a step, whether
 * the token it would pick there is already the one it would end up with. Positions it scores at or above
 * {@link #threshold} are unmasked at once. Trained by {@link FilterTrainer} on the decoder's own one-token-per-step
 * traces; stored as JSON ({@link #save}, format described in docs/diffusion.md).
 *
 * <p>The features of a position, in order ({@link #FEATURES}): the chosen token's probability, the top-2 probability
 * margin, Σ p·log p, the top-2 logit gap / 10, the masked fraction of the block, the distance to the nearest decoded
 * position on the left / block length (capped at 1), and the step's fraction of the block's steps.
 */
public record FinalityFilter(double[] mean, double[] scale, double[] weights, double bias, double threshold) implements FinalityRule {
    public static final String FORMAT = "stride-learn2pd-filter";
    public static final String[] FEATURES = {"probability", "margin", "neg_entropy", "logit_gap_over_10", "masked_fraction",
            "left_distance", "step_fraction"};

    public FinalityFilter {
        int n = FEATURES.length;
        if (mean.length != n || scale.length != n || weights.length != n) {
            throw new IllegalArgumentException("a finality filter has " + n + " features; got " + weights.length + " weights");
        }
        if (!(threshold > 0 && threshold < 1)) throw new IllegalArgumentException("filter threshold must be in (0, 1), got " + threshold);
    }

    /** The probability that the position's current pick is final. */
    public double score(float[] features) {
        double z = bias;
        for (int i = 0; i < weights.length; i++) {
            z += weights[i] * (features[i] - mean[i]) / scale[i];
        }
        return 1 / (1 + Math.exp(-z));
    }

    @Override
    public boolean isFinal(int position, int token, float[] features) {
        return score(features) >= threshold;
    }

    public FinalityFilter withThreshold(double t) {
        return new FinalityFilter(mean, scale, weights, bias, t);
    }

    public void save(Path path, ObjectNode provenance) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode o = json.createObjectNode();
        o.put("format", FORMAT);
        o.put("version", 1);
        o.set("features", json.valueToTree(FEATURES));
        o.set("mean", json.valueToTree(mean));
        o.set("scale", json.valueToTree(scale));
        o.set("weights", json.valueToTree(weights));
        o.put("bias", bias);
        o.put("threshold", threshold);
        if (provenance != null) o.set("trained_on", provenance);
        Files.writeString(path, json.writerWithDefaultPrettyPrinter().writeValueAsString(o));
    }

    /** Reads a filter file; every problem is an error naming the file. */
    public static FinalityFilter load(Path path) {
        try {
            JsonNode o = new ObjectMapper().readTree(Files.readString(path));
            if (o == null || !FORMAT.equals(o.path("format").asText()) || o.path("version").asInt() != 1) {
                throw new IllegalArgumentException("not a " + FORMAT + " version 1 file");
            }
            if (!Arrays.equals(FEATURES, new ObjectMapper().convertValue(o.get("features"), String[].class))) {
                throw new IllegalArgumentException("its features are not " + String.join(", ", FEATURES));
            }
            return new FinalityFilter(doubles(o, "mean"), doubles(o, "scale"), doubles(o, "weights"), o.path("bias").asDouble(),
                    o.path("threshold").asDouble());
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("filter " + path + ": " + e.getMessage(), e);
        }
    }

    private static double[] doubles(JsonNode o, String field) {
        JsonNode a = o.get(field);
        if (a == null || !a.isArray()) throw new IllegalArgumentException("missing array '" + field + "'");
        double[] d = new double[a.size()];
        for (int i = 0; i < d.length; i++) {
            if (!a.get(i).isNumber()) throw new IllegalArgumentException("'" + field + "' must hold numbers");
            d[i] = a.get(i).asDouble();
        }
        return d;
    }
}
