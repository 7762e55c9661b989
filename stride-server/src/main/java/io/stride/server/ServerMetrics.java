package io.stride.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.stride.core.engine.EngineListener;
import io.stride.core.engine.FinishReason;
import io.stride.core.engine.InferenceEngine;
import io.stride.core.kv.tier.KvTier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;

/**
 * Prometheus metrics of the server (Micrometer): latency histograms, queue and KV gauges, token, cache,
 * preemption and error counters; also writes one log line per finished request.
 */
public final class ServerMetrics implements EngineListener {
    private static final Logger LOG = LoggerFactory.getLogger("stride.requests");
    private static final double[] LATENCY_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3,
            0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 20, 40, 80};

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final DistributionSummary ttft = histogram("stride_time_to_first_token_seconds", "Time from arrival to the first generated token");
    private final DistributionSummary itl = histogram("stride_inter_token_latency_seconds", "Time between consecutive tokens of a request");
    private final DistributionSummary e2e = histogram("stride_e2e_request_latency_seconds", "Time from arrival to the last token");
    private final DistributionSummary queue = histogram("stride_request_queue_time_seconds", "Time a request waited before its first step");
    private final Counter promptTokens = Counter.builder("stride_prompt_tokens").description("Prompt tokens computed").register(registry);
    private final Counter generationTokens = Counter.builder("stride_generation_tokens").description("Tokens generated").register(registry);
    private final Counter prefixHits = Counter.builder("stride_prefix_cache_hits").description("KV blocks reused from the prefix cache").register(registry);
    private final Counter prefixHitTokens = Counter.builder("stride_prefix_cache_hit_tokens").description("Prompt tokens whose KV came from the prefix cache").register(registry);
    private final Counter preemptions = Counter.builder("stride_preemptions").description("Sequences preempted for lack of KV blocks").register(registry);
    private final Counter sharedHits = Counter.builder("stride_kv_store_hit_blocks").description("KV blocks of prompts fetched from the shared store").register(registry);

    private volatile io.stride.server.cluster.KvEventPublisher kvEvents;

    /** Publishes the prefix cache's block events there from now on (null: none). */
    public void kvEvents(io.stride.server.cluster.KvEventPublisher p) {
        this.kvEvents = p;
    }

    @Override
    public void blockStored(long hash, long parent, int[] tokens, int from, int count) {
        var p = kvEvents;
        if (p != null) p.stored(hash, parent, tokens, from, count);
    }

    @Override
    public void blockRemoved(long hash) {
        var p = kvEvents;
        if (p != null) p.removed(hash);
    }

    private DistributionSummary histogram(String name, String help) {
        return DistributionSummary.builder(name).description(help).baseUnit("seconds")
                .serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
    }

    /** Registers the engine's gauges. */
    public void bind(InferenceEngine engine) {
        Gauge.builder("stride_requests_running", engine, InferenceEngine::runningCount).description("Requests being generated").register(registry);
        Gauge.builder("stride_requests_waiting", engine, InferenceEngine::waitingCount).description("Requests waiting to start").register(registry);
        Gauge.builder("stride_kv_blocks_used", engine, InferenceEngine::usedBlocks).description("KV cache blocks held by sequences").register(registry);
        Gauge.builder("stride_kv_blocks_free", engine, InferenceEngine::freeBlocks).description("KV cache blocks free or evictable").register(registry);
        Gauge.builder("stride_kv_blocks_total", engine, InferenceEngine::totalBlocks).description("KV cache blocks in all").register(registry);
        long perBlock = engine.kvBytesPerBlock();
        String tk = engine.kvConfig().keys().label(), tv = engine.kvConfig().values().label();
        if (engine.kvConfig().separateKeys()) {
            Gauge.builder("stride_kv_key_blocks_free", engine, InferenceEngine::freeKeyBlocks)
                    .description("Key blocks of the key pool (--kv-key-share) no block holds").register(registry);
            Gauge.builder("stride_kv_key_blocks_total", engine, e -> e.kvConfig().keyBlocks(e.totalBlocks()))
                    .description("Key blocks of the key pool (--kv-key-share)").register(registry);
        }
        Gauge.builder("stride_kv_cache_used", engine, e -> (double) e.usedBlocks() * perBlock).baseUnit("bytes")
                .description("KV cache bytes held by sequences").tag("type_k", tk).tag("type_v", tv).register(registry);
        Gauge.builder("stride_kv_cache_free", engine, e -> (double) e.freeBlocks() * perBlock).baseUnit("bytes")
                .description("KV cache bytes free or evictable").tag("type_k", tk).tag("type_v", tv).register(registry);
        Gauge.builder("stride_kv_cache_total", engine, e -> (double) e.totalBlocks() * perBlock).baseUnit("bytes")
                .description("KV cache bytes in all").tag("type_k", tk).tag("type_v", tv).register(registry);
        // the names the Gateway API Inference Extension's endpoint picker reads by default (vLLM's)
        Gauge.builder("vllm:num_requests_waiting", engine, InferenceEngine::waitingCount).description("Requests waiting (GIE queue depth)").register(registry);
        Gauge.builder("vllm:num_requests_running", engine, InferenceEngine::runningCount).description("Requests running (GIE)").register(registry);
        Gauge.builder("vllm:kv_cache_usage_perc", engine, e -> e.totalBlocks() == 0 ? 0 : (double) e.usedBlocks() / e.totalBlocks())
                .description("Fraction of KV cache blocks held by sequences, 0..1 (GIE KV utilization)").register(registry);
        Gauge.builder("vllm:gpu_cache_usage_perc", engine, e -> e.totalBlocks() == 0 ? 0 : (double) e.usedBlocks() / e.totalBlocks())
                .description("The same fraction under the name GIE releases before vLLM 0.10 read").register(registry);
        Gauge.builder("vllm:cache_config_info", () -> 1).description("KV cache layout for prefix-aware routing (labels)")
                .tag("block_size", Integer.toString(io.stride.core.kv.KvCacheSize.BLOCK_SIZE))
                .tag("num_gpu_blocks", Integer.toString(engine.totalBlocks())).register(registry);
        KvTier tier = engine.kvTier();
        if (tier != null) {
            FunctionCounter.builder("stride_kv_store_fetched_blocks", tier, KvTier::fetchedBlocks).description("Valid blocks fetched from the shared store").register(registry);
            FunctionCounter.builder("stride_kv_store_rejected_blocks", tier, KvTier::rejectedBlocks).description("Store values ignored: corrupt, truncated or not the block asked for").register(registry);
            FunctionCounter.builder("stride_kv_store_published_blocks", tier, KvTier::publishedBlocks).description("Blocks written to the shared store").register(registry);
            FunctionCounter.builder("stride_kv_store_dropped_blocks", tier, KvTier::droppedBlocks).description("Blocks not published (store down or too slow)").register(registry);
            FunctionCounter.builder("stride_kv_store_errors", tier, KvTier::storeErrors).description("Failed calls to the shared store").register(registry);
            FunctionCounter.builder("stride_kv_store_skipped_fetches", tier, KvTier::skippedFetches)
                    .description("Prompts not fetched because fetched blocks waiting for admission reached the memory cap").register(registry);
        }
    }

    /** Registers the HTTP side's gauges: generation requests being answered, and readiness (1 ready, 0 not). */
    public void bindServer(java.util.function.IntSupplier inFlight, java.util.function.BooleanSupplier ready) {
        Gauge.builder("stride_http_requests_in_flight", inFlight, s -> s.getAsInt()).description("Generation requests being answered")
                .strongReference(true).register(registry);
        Gauge.builder("stride_ready", ready, s -> s.getAsBoolean() ? 1 : 0).description("1 when the server accepts new requests")
                .strongReference(true).register(registry);
    }

    public void error(String type, int status) {
        Counter.builder("stride_request_errors").description("Requests answered with an error").tag("type", type)
                .tag("status", Integer.toString(status)).register(registry).increment();
    }

    public String scrape() {
        return registry.scrape();
    }

    @Override
    public void queued(String id, double queueSeconds) {
        queue.record(queueSeconds);
    }

    @Override
    public void firstToken(String id, double ttftSeconds) {
        ttft.record(ttftSeconds);
    }

    @Override
    public void interTokenLatency(double seconds) {
        itl.record(seconds);
    }

    @Override
    public void finished(String id, FinishReason reason, int prompt, int completion, double e2eSeconds, double ttftSeconds, int cached) {
        e2e.record(e2eSeconds);
        Counter.builder("stride_requests_finished").description("Finished requests by reason").tag("finish_reason", reason.label())
                .register(registry).increment();
        double genSeconds = Double.isNaN(ttftSeconds) ? Double.NaN : e2eSeconds - ttftSeconds;
        LOG.info(String.format(Locale.ROOT, "%s prompt=%d cached=%d gen=%d ttft=%.3fs tok/s=%.1f e2e=%.3fs finish=%s", id, prompt, cached,
                completion, ttftSeconds, completion > 1 && genSeconds > 0 ? (completion - 1) / genSeconds : 0.0, e2eSeconds, reason.label()));
    }

    @Override
    public void promptTokens(int n) {
        promptTokens.increment(n);
    }

    @Override
    public void generatedTokens(int n) {
        generationTokens.increment(n);
    }

    @Override
    public void prefixCacheHit(int blocks, int tokens) {
        prefixHits.increment(blocks);
        prefixHitTokens.increment(tokens);
    }

    @Override
    public void sharedKvHit(int blocks) {
        sharedHits.increment(blocks);
    }

    @Override
    public void preempted(String id) {
        preemptions.increment();
    }

    @Override
    public void speculated(String method, int drafted, int accepted) {
        Counter.builder("stride_spec_draft_tokens").description("Tokens proposed by a drafter (tree nodes)").tag("drafter", method)
                .register(registry).increment(drafted);
        Counter.builder("stride_spec_accepted_tokens").description("Drafted tokens the target model accepted").tag("drafter", method)
                .register(registry).increment(accepted);
        Counter.builder("stride_spec_verify_steps").description("Speculative verify steps").tag("drafter", method)
                .register(registry).increment();
        io.micrometer.core.instrument.DistributionSummary.builder("stride_spec_accepted_length")
                .description("Accepted drafted tokens per verify step").tag("drafter", method)
                .serviceLevelObjectives(1, 2, 3, 4, 6, 8, 12, 16).register(registry).record(accepted);
    }
}
