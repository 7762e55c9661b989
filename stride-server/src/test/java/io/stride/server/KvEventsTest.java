package io.stride.server;

import io.stride.server.cluster.KvEventPublisher;
import org.junit.jupiter.api.Test;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.Value;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * KV-cache events on ZeroMQ in vLLM's wire format, read back as llm-d's subscriber reads them: a prompt's full blocks
 * arrive as BlockStored events whose tokens are the prompt's, chained by parent hash; blocks evicted for space
 * arrive as BlockRemoved with hashes that were stored.
 */
class KvEventsTest {
    record Stored(long hash, Long parent, int[] tokens) {}

    @Test
    void storedAndRemovedBlocksArePublishedInVllmsFormat() throws Exception {
        try (TestServer ts = TestServer.builder().kvBlocks(48).maxSeqs(2).start();
             KvEventPublisher pub = new KvEventPublisher("tcp://127.0.0.1:*", "pod-1", "javatiny", 16, "CPU");
             ZContext ctx = new ZContext()) {
            ts.metrics.kvEvents(pub);
            List<Stored> stored = new ArrayList<>();
            Set<Long> storedHashes = new HashSet<>();
            Set<Long> removed = new HashSet<>();
            long[] lastSeq = {-1};
            // a PUB socket drops what it sends before a subscription reaches it: probe until events arrive, with a
            // fresh subscriber after 20 s without any (as a real subscriber reconnects), three subscribers at most
            ZMQ.Socket sub = null;
            boolean live = false;
            List<String> attempts = new ArrayList<>();
            for (int attempt = 0; attempt < 3 && !live; attempt++) {
                if (sub != null) sub.close();
                sub = ctx.createSocket(SocketType.SUB);
                // the subscriber's connection events (ZMQ_EVENT_* codes), to say which side failed if none arrives
                String monitorAddress = "inproc://kv-events-monitor-" + attempt;
                sub.monitor(monitorAddress, ZMQ.EVENT_ALL);
                ZMQ.Socket monitor = ctx.createSocket(SocketType.PAIR);
                monitor.connect(monitorAddress);
                sub.connect("tcp://127.0.0.1:" + pub.port());
                sub.subscribe("kv@".getBytes(StandardCharsets.UTF_8));
                sub.setReceiveTimeOut(200);
                long probeDeadline = System.nanoTime() + 20_000_000_000L;
                for (int probe = 0; !live && System.nanoTime() < probeDeadline; probe++) {
                    ts.complete("class Probe" + attempt + "x" + probe + " {\n" + "    int value = 1;\n".repeat(4), 1);
                    long until = System.nanoTime() + 500_000_000L;
                    while (System.nanoTime() < until && !live) {
                        live = receive(sub, stored, storedHashes, removed, lastSeq);
                    }
                }
                List<String> connection = new ArrayList<>();
                for (ZMQ.Event ev; (ev = ZMQ.Event.recv(monitor, ZMQ.DONTWAIT)) != null; ) {
                    connection.add(ev.getEvent() + "@" + ev.getAddress());
                }
                monitor.close();
                String seen = String.format("subscriber %d: %s; publisher: %d messages sent, %d batches failed, %d events dropped",
                        attempt, live ? "live" : "nothing", pub.sent(), pub.failed(), pub.dropped()) + "; its socket events: " + connection;
                if (!live) System.out.println("KvEventsTest: " + seen);
                attempts.add(seen);
            }
            assertThat(live).as("the subscription came up (%s)", attempts).isTrue();
            while (receive(sub, stored, storedHashes, removed, lastSeq)) {
                // drain the probes' events
            }
            stored.clear();

            String prompt = "import java.util.List;\n\npublic final class Inventory {\n    private final List<String> items;\n".repeat(6);
            int[] ids = ts.model.tokenizer().encode(prompt);
            ts.complete(prompt, 4);
            // other prompts push the first one's blocks out of the 48-block cache
            for (int i = 0; i < 3; i++) {
                StringBuilder other = new StringBuilder("class Other" + i + " {\n");
                for (int j = 0; j < 60; j++) other.append("    int field").append(j).append(" = ").append(j * 7 + i).append(";\n");
                ts.complete(other.toString(), 2);
            }
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (System.nanoTime() < deadline && (removed.isEmpty() || stored.size() < ids.length / 16)) {
                receive(sub, stored, storedHashes, removed, lastSeq);
            }
            // the first prompt's full blocks, in order, chained
            int blocks = (ids.length + 4 - 1) / 16; // prompt and generated tokens computed so far
            assertThat(stored.size()).isGreaterThanOrEqualTo(ids.length / 16);
            for (int i = 0; i < ids.length / 16; i++) {
                Stored s = stored.get(i);
                assertThat(s.tokens()).as("block %d of %d", i, blocks).isEqualTo(Arrays.copyOfRange(ids, 16 * i, 16 * i + 16));
                assertThat(s.parent()).isEqualTo(i == 0 ? null : stored.get(i - 1).hash());
            }
            assertThat(removed).isNotEmpty();
            assertThat(storedHashes).containsAll(removed);
        }
    }

    /** Reads one message if one comes within the receive timeout, checking its framing; false when none came. */
    static boolean receive(ZMQ.Socket sub, List<Stored> stored, Set<Long> storedHashes, Set<Long> removed, long[] lastSeq)
            throws Exception {
        byte[] topic = sub.recv();
        if (topic == null) {
            return false;
        }
        assertThat(new String(topic, StandardCharsets.UTF_8)).isEqualTo("kv@pod-1@javatiny");
        assertThat(sub.hasReceiveMore()).isTrue();
        long seq = ByteBuffer.wrap(sub.recv()).getLong();
        assertThat(seq).isGreaterThan(lastSeq[0]);
        lastSeq[0] = seq;
        byte[] payload = sub.recv();
        try (MessageUnpacker u = MessagePack.newDefaultUnpacker(payload)) {
            List<Value> batch = u.unpackValue().asArrayValue().list();
            assertThat(batch.get(0).isFloatValue()).isTrue();
            for (Value ev : batch.get(1).asArrayValue()) {
                List<Value> f = ev.asArrayValue().list();
                switch (f.get(0).asStringValue().asString()) {
                    case "BlockStored" -> {
                        assertThat(f).hasSize(7);
                        assertThat(f.get(4).asIntegerValue().asInt()).isEqualTo(16);
                        assertThat(f.get(6).asStringValue().asString()).isEqualTo("CPU");
                        List<Value> tok = f.get(3).asArrayValue().list();
                        Stored s = new Stored(f.get(1).asArrayValue().get(0).asIntegerValue().asBigInteger().longValue(),
                                f.get(2).isNilValue() ? null : f.get(2).asIntegerValue().asBigInteger().longValue(),
                                tok.stream().mapToInt(v -> v.asIntegerValue().asInt()).toArray());
                        stored.add(s);
                        storedHashes.add(s.hash());
                    }
                    case "BlockRemoved" -> removed.add(f.get(1).asArrayValue().get(0).asIntegerValue().asBigInteger().longValue());
                    case "AllBlocksCleared" -> { }
                    default -> throw new AssertionError("unexpected event " + f);
                }
            }
        }
        return true;
    }
}
