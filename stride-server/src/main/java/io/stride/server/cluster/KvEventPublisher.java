package io.stride.server.cluster;

import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * KV-cache events as vLLM publishes them, for llm-d's precise prefix-cache scorer: a ZeroMQ PUB socket sends
 * three-part messages {@code [topic, sequence (8 bytes, big-endian), payload]}, topic {@code kv@POD@MODEL}, payload
 * a msgpack array {@code [timestamp, [event, ...]]} with events {@code ["BlockStored", [hash], parent|nil, [token ids],
 * block_size, nil, medium]}, {@code ["BlockRemoved", [hash], medium]} and {@code ["AllBlocksCleared"]} (sent once at
 * start: a restarted server holds nothing). Hashes are the prefix cache's 64-bit chain hashes as unsigned integers.
 * The engine thread only queues; one background thread batches every {@value #PERIOD_MS} ms and owns the socket
 * (a ZeroMQ socket is not thread-safe: after the constructor no other thread touches it).
 */
public final class KvEventPublisher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KvEventPublisher.class);
    static final int PERIOD_MS = 10;
    /** Events waiting beyond this are dropped (and counted): a subscriber-less burst must not grow the heap. */
    static final int MAX_QUEUED = 100_000;

    private sealed interface Event permits Stored, Removed {}

    private record Stored(long hash, long parent, int[] tokens) implements Event {}

    private record Removed(long hash) implements Event {}

    private final ZContext context = new ZContext();
    private final ZMQ.Socket socket;
    private final byte[] topic;
    private final String medium;
    private final int blockSize;
    private final ConcurrentLinkedQueue<Event> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final int port;
    private final Thread thread;
    private volatile boolean closed;
    private long sequence;
    private volatile long dropped;
    private volatile long sent;
    private volatile long failed;

    /** Binds {@code endpoint} (e.g. tcp://127.0.0.1:5557) now, so that a bad address fails at start. */
    public KvEventPublisher(String endpoint, String pod, String model, int blockSize, String medium) {
        this.topic = ("kv@" + pod + "@" + model).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        this.medium = medium;
        this.blockSize = blockSize;
        this.socket = context.createSocket(SocketType.PUB);
        socket.setSndHWM(100_000);
        socket.setLinger(0);
        try {
            socket.bind(endpoint);
        } catch (RuntimeException e) {
            context.close();
            throw new IllegalArgumentException("--kv-events: cannot bind " + endpoint + ": " + e.getMessage(), e);
        }
        String last = socket.getLastEndpoint();
        port = Integer.parseInt(last.substring(last.lastIndexOf(':') + 1));
        thread = Thread.ofPlatform().name("stride-kv-events").daemon(true).start(this::run);
    }

    /** The port the socket is bound to (for tcp://HOST:0 or :*). */
    public int port() {
        return port;
    }

    public void stored(long hash, long parent, int[] tokens, int from, int count) {
        offer(new Stored(hash, parent, java.util.Arrays.copyOfRange(tokens, from, from + count)));
    }

    public void removed(long hash) {
        offer(new Removed(hash));
    }

    private void offer(Event e) {
        if (queued.incrementAndGet() > MAX_QUEUED) {
            queued.decrementAndGet();
            dropped++;
            return;
        }
        queue.add(e);
    }

    /** Events dropped because {@value #MAX_QUEUED} were already waiting. */
    public long dropped() {
        return dropped;
    }

    /** Messages handed to the socket (the first is AllBlocksCleared). */
    public long sent() {
        return sent;
    }

    /** Batches that could not be sent (logged); their events are lost, later batches still go. */
    public long failed() {
        return failed;
    }

    private void run() {
        try {
            loop();
        } finally {
            if (!closed) LOG.error("KV event publisher stopped before close: no further events are sent");
        }
    }

    private void loop() {
        send(List.of()); // AllBlocksCleared
        List<Event> batch = new ArrayList<>();
        while (!closed) {
            try {
                Thread.sleep(PERIOD_MS);
            } catch (InterruptedException e) {
                break;
            }
            Event e;
            while ((e = queue.poll()) != null) {
                queued.decrementAndGet();
                batch.add(e);
            }
            if (!batch.isEmpty()) {
                send(batch);
                batch.clear();
            }
        }
        socket.close();
    }

    /** One message; an empty list sends AllBlocksCleared. */
    private void send(List<Event> events) {
        try (MessageBufferPacker p = MessagePack.newDefaultBufferPacker()) {
            p.packArrayHeader(2);
            p.packDouble(System.currentTimeMillis() / 1000.0);
            p.packArrayHeader(Math.max(1, events.size()));
            if (events.isEmpty()) {
                p.packArrayHeader(1).packString("AllBlocksCleared");
            }
            for (Event e : events) {
                switch (e) {
                    case Stored s -> {
                        p.packArrayHeader(7).packString("BlockStored");
                        p.packArrayHeader(1);
                        unsigned(p, s.hash());
                        if (s.parent() == 0) p.packNil(); else unsigned(p, s.parent());
                        p.packArrayHeader(s.tokens().length);
                        for (int t : s.tokens()) p.packInt(t);
                        p.packInt(blockSize).packNil().packString(medium);
                    }
                    case Removed r -> {
                        p.packArrayHeader(3).packString("BlockRemoved");
                        p.packArrayHeader(1);
                        unsigned(p, r.hash());
                        p.packString(medium);
                    }
                }
            }
            byte[] seq = java.nio.ByteBuffer.allocate(8).putLong(sequence++).array();
            socket.sendMore(topic);
            socket.sendMore(seq);
            socket.send(p.toByteArray(), 0);
            sent++;
        } catch (IOException | RuntimeException ex) {
            failed++;
            LOG.warn("KV event batch not sent: {}", ex.toString());
        }
    }

    private static void unsigned(MessageBufferPacker p, long h) throws IOException {
        if (h >= 0) {
            p.packLong(h);
        } else {
            p.packBigInteger(new BigInteger(Long.toUnsignedString(h)));
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        context.close();
    }
}
