package io.stride.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.stride.core.sampling.SamplingParams;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Validates the sampling and control fields that completions and chat completions share. Fields with no effect on
 * the output (user, metadata, store, ...) and fields the server does not know are ignored, as clients send many;
 * known fields that would change the output but are not implemented are a 400 naming them, never dropped; known
 * fields with a wrong type or an absurd value are a 400 naming the field.
 */
final class RequestParser {
    private RequestParser() {}

    /** Fields of the OpenAI, llama-server and vLLM APIs that change what is generated and that Stride does not implement. */
    private static final List<String> UNSUPPORTED = List.of("functions", "function_call", "suffix", "prediction", "audio");

    static void rejectUnsupported(JsonNode b) {
        for (String f : UNSUPPORTED) {
            JsonNode v = b.get(f);
            if (v != null && !v.isNull() && !(v.isArray() && v.isEmpty()) && !(v.isTextual() && v.asText().isEmpty())) {
                throw ApiException.badRequest(f + " is not supported by this server yet", f);
            }
        }
        JsonNode bestOf = b.get("best_of");
        if (bestOf != null && !bestOf.isNull() && !(bestOf.isIntegralNumber() && bestOf.asInt() <= 1)) {
            throw ApiException.badRequest("best_of is not supported; ask for n choices instead", "best_of");
        }
        JsonNode modalities = b.get("modalities");
        if (modalities != null && !modalities.isNull() && !(modalities.isArray() && modalities.size() == 1
                && "text".equals(modalities.get(0).asText()))) {
            throw ApiException.badRequest("only the text modality is supported", "modalities");
        }
    }

    static GenerationSpec parse(JsonNode b, boolean chat, ServerConfig cfg) {
        rejectUnsupported(b);
        String model = optString(b, "model");
        boolean stream = optBool(b, "stream", false);
        boolean includeUsage = false;
        JsonNode so = b.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!so.isObject()) throw ApiException.badRequest("stream_options must be an object", "stream_options");
            includeUsage = optBool(so, "include_usage", false);
        }
        Integer maxTokens = optInt(b, "max_completion_tokens", 1, Integer.MAX_VALUE);
        if (maxTokens == null) maxTokens = optInt(b, "max_tokens", 1, Integer.MAX_VALUE);
        Integer requested = maxTokens;
        if (maxTokens != null) maxTokens = Math.min(maxTokens, cfg.maxTokensCap());
        double temperature = optNumber(b, "temperature", 0, 2, 1.0);
        double topP = optNumber(b, "top_p", 0, 1, 1.0);
        if (topP <= 0) throw ApiException.badRequest("top_p must be in (0, 1]", "top_p");
        Integer topK = optInt(b, "top_k", -1, 1_000_000);
        double minP = optNumber(b, "min_p", 0, 1, 0.0);
        double presence = optNumber(b, "presence_penalty", -2, 2, 0.0);
        double frequency = optNumber(b, "frequency_penalty", -2, 2, 0.0);
        double repetition = optNumber(b, "repetition_penalty", 0, 10, 1.0);
        if (repetition <= 0) throw ApiException.badRequest("repetition_penalty must be > 0", "repetition_penalty");
        Long seed = optLong(b, "seed");
        Integer n = optInt(b, "n", 1, cfg.maxChoices());
        int logprobs;
        if (chat) {
            boolean lp = optBool(b, "logprobs", false);
            Integer top = optInt(b, "top_logprobs", 0, 20);
            if (top != null && !lp) throw ApiException.badRequest("top_logprobs requires logprobs: true", "top_logprobs");
            logprobs = lp ? (top == null ? 0 : top) : -1;
        } else {
            JsonNode lpn = b.get("logprobs");
            if (lpn != null && lpn.isBoolean()) {
                logprobs = lpn.asBoolean() ? 0 : -1;
            } else {
                Integer lp = optInt(b, "logprobs", 0, 20);
                logprobs = lp == null ? -1 : lp;
            }
        }
        boolean echo = !chat && optBool(b, "echo", false);
        List<String> stop = parseStop(b.get("stop"));
        Map<Integer, Float> bias = parseLogitBias(b.get("logit_bias"));
        String salt = optString(b, "cache_salt");
        long cacheSalt = salt == null ? 0 : salt.hashCode() * 0x9E3779B97F4A7C15L + salt.length() + 1;
        SamplingParams sampling = new SamplingParams((float) temperature, topK == null || topK < 0 ? 0 : topK, (float) topP,
                (float) minP, (float) repetition, 64, (float) frequency, (float) presence, bias, seed == null ? -1 : seed & Long.MAX_VALUE);
        String speculation = optString(b, "speculation");
        String sparse = optString(b, "sparse_attention");
        if (sparse != null) {
            try {
                io.stride.core.sparse.SparseAttention.parse(sparse);
            } catch (IllegalArgumentException e) {
                throw ApiException.badRequest("sparse_attention: " + e.getMessage(), "sparse_attention");
            }
        }
        StructuredOutput.Constraint grammar = StructuredOutput.parse(b);
        ToolRequest tools = ToolRequest.parse(b);
        if (tools != null && !chat) throw ApiException.badRequest("tools are offered on /v1/chat/completions, not on completions", "tools");
        if (tools != null && tools.forcesCalls() && grammar != null) {
            throw ApiException.badRequest("tool_choice " + tools.choice() + " forces a tool call, which " + grammar.field()
                    + " would constrain too; give one", grammar.field());
        }
        return new GenerationSpec(model, stream, includeUsage, maxTokens, requested, sampling, stop, logprobs, n == null ? 1 : n, cacheSalt,
                echo, speculation, grammar, tools, sparse);
    }

    static String optString(JsonNode b, String name) {
        JsonNode v = b.get(name);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw ApiException.badRequest(name + " must be a string", name);
        return v.asText();
    }

    static boolean optBool(JsonNode b, String name, boolean def) {
        JsonNode v = b.get(name);
        if (v == null || v.isNull()) return def;
        if (!v.isBoolean()) throw ApiException.badRequest(name + " must be a boolean", name);
        return v.asBoolean();
    }

    static Integer optInt(JsonNode b, String name, int min, int max) {
        JsonNode v = b.get(name);
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToLong()) throw ApiException.badRequest(name + " must be an integer", name);
        long x = v.asLong();
        if (x < min || x > max) {
            throw ApiException.badRequest(name + " must be between " + min + " and " + max + ", got " + v.asText(), name);
        }
        return (int) x;
    }

    static Long optLong(JsonNode b, String name) {
        JsonNode v = b.get(name);
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToLong()) throw ApiException.badRequest(name + " must be a 64-bit integer", name);
        return v.asLong();
    }

    static double optNumber(JsonNode b, String name, double min, double max, double def) {
        JsonNode v = b.get(name);
        if (v == null || v.isNull()) return def;
        if (!v.isNumber()) throw ApiException.badRequest(name + " must be a number", name);
        double x = v.asDouble();
        if (!(x >= min && x <= max)) throw ApiException.badRequest(name + " must be between " + min + " and " + max + ", got " + v.asText(), name);
        return x;
    }

    private static List<String> parseStop(JsonNode v) {
        List<String> out = new ArrayList<>();
        if (v == null || v.isNull()) return out;
        if (v.isTextual()) {
            if (!v.asText().isEmpty()) out.add(v.asText());
            return out;
        }
        if (!v.isArray()) throw ApiException.badRequest("stop must be a string or an array of strings", "stop");
        if (v.size() > 16) throw ApiException.badRequest("at most 16 stop strings", "stop");
        for (JsonNode s : v) {
            if (!s.isTextual()) throw ApiException.badRequest("stop must be a string or an array of strings", "stop");
            if (s.asText().length() > 1000) throw ApiException.badRequest("stop strings must be at most 1000 characters", "stop");
            if (!s.asText().isEmpty()) out.add(s.asText());
        }
        return out;
    }

    private static Map<Integer, Float> parseLogitBias(JsonNode v) {
        Map<Integer, Float> out = new HashMap<>();
        if (v == null || v.isNull()) return out;
        if (!v.isObject()) throw ApiException.badRequest("logit_bias must be an object of token id to bias", "logit_bias");
        if (v.size() > 1024) throw ApiException.badRequest("logit_bias has too many entries (max 1024)", "logit_bias");
        for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw ApiException.badRequest("logit_bias keys must be token ids, got '" + e.getKey() + "'", "logit_bias");
            }
            if (!e.getValue().isNumber() || !(Math.abs(e.getValue().asDouble()) <= 100)) {
                throw ApiException.badRequest("logit_bias values must be numbers between -100 and 100", "logit_bias");
            }
            out.put(id, (float) e.getValue().asDouble());
        }
        return out;
    }
}
