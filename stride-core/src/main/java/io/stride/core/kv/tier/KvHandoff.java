package io.stride.core.kv.tier;

/**
 * Prefill/decode disaggregation, the decode side: asks a prefill instance to compute a prompt's keys and values and
 * publish its full blocks to the shared tier, returning once they are stored. The decode engine then fetches them as
 * it would any shared prefix, and computes what is missing itself, so a failed or slow handoff costs time, never
 * tokens.
 */
public interface KvHandoff {
    /** Blocks until the prefill side has published the prompt's full blocks; throws on failure or timeout. */
    void prefill(int[] prompt, long salt) throws Exception;

    /** Where the prefill side is, for logs. */
    String describe();
}
