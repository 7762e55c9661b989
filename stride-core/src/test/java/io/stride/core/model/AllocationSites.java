package io.stride.core.model;

import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Where some code allocates, from JFR's allocation samples (class, and the top frames of each sample's stack): for the
 * failure message of an allocation test, so that a failure on a machine one cannot log into names its cause.
 */
final class AllocationSites {
    private AllocationSites() {}

    /** Runs {@code work} under a recording of allocation samples and returns the most frequent sites, one per line. */
    static String sample(Runnable work, int frames, int sites) {
        Path file = null;
        try (Recording r = new Recording()) {
            r.enable("jdk.ObjectAllocationSample").with("throttle", "100000/s").withStackTrace();
            // every new buffer and every allocation outside one: complete where buffers are small (-XX:TLABSize)
            r.enable("jdk.ObjectAllocationInNewTLAB").withStackTrace();
            r.enable("jdk.ObjectAllocationOutsideTLAB").withStackTrace();
            r.start();
            work.run();
            r.stop();
            file = Files.createTempFile("allocation-sites", ".jfr");
            r.dump(file);
            Map<String, Long> weight = new HashMap<>();
            for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
                StringBuilder site = new StringBuilder(e.getClass("objectClass").getName());
                if (e.getStackTrace() != null) {
                    List<RecordedFrame> fs = e.getStackTrace().getFrames();
                    for (int i = 0; i < Math.min(frames, fs.size()); i++) {
                        RecordedFrame f = fs.get(i);
                        site.append("\n      at ").append(f.getMethod().getType().getName()).append('.')
                                .append(f.getMethod().getName()).append(':').append(f.getLineNumber())
                                .append(" (").append(f.getType()).append(')');
                    }
                }
                long bytes = e.hasField("weight") ? e.getLong("weight") : e.getLong("allocationSize");
                weight.merge(e.getEventType().getName().replace("jdk.ObjectAllocation", "") + " " + site, bytes, Long::sum);
            }
            if (weight.isEmpty()) return "  (no allocation samples)";
            return weight.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(sites)
                    .map(en -> "  ~" + en.getValue() + " bytes: " + en.getKey()).collect(Collectors.joining("\n"));
        } catch (IOException | RuntimeException e) {
            return "  (allocation samples unavailable: " + e + ")";
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // a temporary file
                }
            }
        }
    }
}
