package io.stride.server;

import io.stride.core.grammar.GrammarException;
import io.stride.core.grammar.TokenGrammar;
import io.stride.core.tokenizer.Tokenizer;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Tokenizes prompts off the request threads and within a bound. A text is refused before any work when even
 * its fewest possible tokens (chars / longest token) exceed what the context allows, so the work per request is
 * at most context × longest-token chars. The work runs on a few platform threads of its own: request handlers
 * are virtual threads sharing one carrier per core, and a long tokenization there would stall every other
 * request, probes included.
 */
final class PromptEncoder implements AutoCloseable {
    private final Tokenizer tokenizer;
    private final ThreadPoolExecutor pool;

    PromptEncoder(Tokenizer tokenizer, int threads) {
        this.tokenizer = tokenizer;
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(256),
                r -> Thread.ofPlatform().daemon(true).name("stride-tokenize-" + n.incrementAndGet()).unstarted(r));
        pool.allowCoreThreadTimeOut(true);
    }

    /**
     * Token ids of {@code text} (special tokens parsed), refusing with a 400 naming {@code param} when it cannot
     * have fewer than {@code maxTokens} tokens.
     */
    int[] encode(String text, boolean addSpecial, int maxTokens, String param) {
        long fewest = text.length() / tokenizer.vocabulary().maxTokenChars();
        if (fewest > maxTokens) {
            throw ApiException.badRequest("the prompt is too long: its " + text.length() + " characters make at least " + fewest
                    + " tokens, and the context allows " + maxTokens, param);
        }
        return onPool(() -> tokenizer.encode(text, addSpecial, true), "prompts waiting to be tokenized", "tokenizing", "tokenization failed");
    }

    /**
     * {@code gbnf} compiled for the model's vocabulary (or from the cache), on these threads too: compiling walks the
     * token trie once per grammar position. A grammar the engine refuses is a 400 naming {@code param}.
     */
    TokenGrammar grammar(String gbnf, String param) {
        try {
            return onPool(() -> TokenGrammar.of(gbnf, tokenizer), "grammars waiting to be compiled", "compiling the grammar",
                    "grammar compilation failed");
        } catch (GrammarException g) {
            throw ApiException.badRequest(param + ": " + g.getMessage(), param);
        }
    }

    /**
     * Runs {@code work} on the pool and waits: 503 when the queue is full or the wait is interrupted, the work's own
     * runtime exception as it is, anything else a 500.
     */
    private <T> T onPool(java.util.concurrent.Callable<T> work, String waiting, String doing, String failed) {
        Future<T> f;
        try {
            f = pool.submit(work);
        } catch (RejectedExecutionException e) {
            throw new ApiException(503, "server_error", "too many " + waiting + "; try again later", null, "overloaded");
        }
        try {
            return f.get();
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new ApiException(503, "server_error", "interrupted while " + doing, null, "unavailable");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof GrammarException g) throw g;
            throw new ApiException(500, "server_error", failed + ": " + e.getCause(), null, null);
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
