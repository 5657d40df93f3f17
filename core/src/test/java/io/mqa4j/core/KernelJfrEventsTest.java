package io.mqa4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Kernel calls show up in a JFR recording with the bytes of K and V they read. */
class KernelJfrEventsTest {

  @Test
  void decodePrefillAndBatchEventsCarryTheirFigures(@TempDir Path dir) throws Exception {
    AttentionShape shape = AttentionShape.gqa(8, 2, 64);
    AttentionKernel kernel = AttentionKernels.scalar();
    Path file = dir.resolve("calls.jfr");
    long cacheFull;
    long cacheWindow;
    try (PagedKvCache cache = PagedKvCache.builder(2, 64).type(KvType.BF16).capacityTokens(200).build();
        Recording recording = new Recording()) {
      KvSequence seq = cache.newSequence();
      cache.append(seq, 100, new float[100 * 128], 0, new float[100 * 128], 0);
      recording.enable("mqa4j.Decode").withThreshold(java.time.Duration.ZERO);
      recording.enable("mqa4j.Prefill").withThreshold(java.time.Duration.ZERO);
      recording.enable("mqa4j.DecodeBatch").withThreshold(java.time.Duration.ZERO);
      recording.start();
      float[] q = new float[4 * shape.queryStride()];
      float[] out = new float[q.length];
      kernel.decode(shape, AttentionOptions.defaults(), q, 0, seq, out, 0);
      kernel.decode(shape, AttentionOptions.defaults().withSlidingWindow(10), q, 0, seq, out, 0);
      kernel.prefill(shape, AttentionOptions.defaults().withCausal(true), 4, MemorySegment.ofArray(q),
          seq, MemorySegment.ofArray(out));
      kernel.decodeBatch(shape, AttentionOptions.defaults(), MemorySegment.ofArray(q),
          new KvView[] {seq, seq}, MemorySegment.ofArray(out));
      recording.stop();
      recording.dump(file);
      // The cache's own figure for a step is the one the events report.
      cacheFull = cache.decodeBytesRead(seq, AttentionOptions.defaults());
      cacheWindow = cache.decodeBytesRead(seq, AttentionOptions.defaults().withSlidingWindow(10));
      assertEquals(cacheFull, cache.decodeBytesRead(seq));
      assertEquals(cacheFull, cache.decodeBytesRead(seq,
          AttentionOptions.defaults().withSlidingWindow(1000)), "a window wider than the tokens");
    }
    List<RecordedEvent> events = RecordingFile.readAllEvents(file);
    List<RecordedEvent> decodes = events.stream().filter(e -> e.getEventType().getName().equals("mqa4j.Decode")).toList();
    assertEquals(2, decodes.size(), events.toString());
    assertEquals(cacheFull, decodes.get(0).getLong("kvBytesRead"));
    assertEquals(cacheWindow, decodes.get(1).getLong("kvBytesRead"));
    long perToken = 2 * 2 * 64 * 2; // K and V, 2 heads, 64 bf16 elements
    RecordedEvent full = decodes.get(0);
    assertEquals("scalar", full.getString("kernel"));
    assertEquals("GQA", full.getString("layout"));
    assertEquals(8, full.getInt("queryHeads"));
    assertEquals(2, full.getInt("kvHeads"));
    assertEquals(64, full.getInt("headDim"));
    assertEquals(1, full.getInt("queries"));
    assertEquals(100, full.getLong("keys"));
    assertEquals("bf16", full.getString("kvType"));
    assertEquals(100 * perToken, full.getLong("kvBytesRead"));
    assertEquals(10 * perToken, decodes.get(1).getLong("kvBytesRead"), "a window reads only what it sees");
    RecordedEvent prefill = events.stream().filter(e -> e.getEventType().getName().equals("mqa4j.Prefill")).findFirst().orElseThrow();
    assertEquals(4, prefill.getInt("queries"));
    assertEquals(100 * perToken, prefill.getLong("kvBytesRead"));
    RecordedEvent batch = events.stream().filter(e -> e.getEventType().getName().equals("mqa4j.DecodeBatch")).findFirst().orElseThrow();
    assertEquals(2, batch.getInt("queries"));
    assertEquals(200 * perToken, batch.getLong("kvBytesRead"));
    assertTrue(batch.getDuration().toNanos() > 0);
    for (RecordedEvent e : events) {
      if (e.getEventType().getName().startsWith("mqa4j.")) {
        assertNull(e.getStackTrace(), "no stack trace unless asked for: " + e);
      }
    }
  }

  @Test
  void aRecordingThatAsksForStackTracesGetsThem(@TempDir Path dir) throws Exception {
    AttentionShape shape = AttentionShape.mqa(2, 32);
    Path file = dir.resolve("stacks.jfr");
    try (Recording recording = new Recording()) {
      recording.enable("mqa4j.Decode").withThreshold(java.time.Duration.ZERO).withStackTrace();
      recording.start();
      float[] kv = new float[5 * shape.kvStride()];
      AttentionKernels.scalar().decode(shape, AttentionOptions.defaults(), 5,
          new float[shape.queryStride()], 0, kv, 0, kv, 0, new float[shape.queryStride()], 0);
      recording.stop();
      recording.dump(file);
    }
    RecordedEvent decode = RecordingFile.readAllEvents(file).stream()
        .filter(e -> e.getEventType().getName().equals("mqa4j.Decode")).findFirst().orElseThrow();
    assertNotNull(decode.getStackTrace());
    assertTrue(decode.getStackTrace().getFrames().stream().anyMatch(f -> f.getMethod().getName()
        .equals("aRecordingThatAsksForStackTracesGetsThem")), "the caller's frame is on the stack");
  }

  @Test
  void aWindowAsWideAsAnIntStillCountsTheKeysOfQueriesBeforeEveryKey(@TempDir Path dir)
      throws Exception {
    // Eight queries over five keys: the first three sit before every key, at negative positions,
    // where position - window + 1 once wrapped past the largest int and the event said 0 bytes.
    AttentionShape shape = AttentionShape.mqa(2, 32);
    AttentionOptions widest = AttentionOptions.defaults().withSlidingWindow(Integer.MAX_VALUE);
    assertEquals(0, widest.firstVisibleKey(-3));
    Path file = dir.resolve("wide.jfr");
    try (Recording recording = new Recording()) {
      recording.enable("mqa4j.Prefill").withThreshold(java.time.Duration.ZERO);
      recording.start();
      float[] q = new float[8 * shape.queryStride()];
      float[] kv = new float[5 * shape.kvStride()];
      AttentionKernels.scalar().prefill(shape, widest, 8, 5, q, 0, kv, 0, kv, 0,
          new float[q.length], 0);
      recording.stop();
      recording.dump(file);
    }
    RecordedEvent prefill = RecordingFile.readAllEvents(file).stream()
        .filter(e -> e.getEventType().getName().equals("mqa4j.Prefill")).findFirst().orElseThrow();
    assertEquals(2 * 5 * 32 * 4, prefill.getLong("kvBytesRead"));
  }

  @Test
  void aSequenceReleasedBehindItsWindowCountsTheKeysItHolds(@TempDir Path dir) throws Exception {
    AttentionShape shape = AttentionShape.mqa(2, 32);
    Path file = dir.resolve("released.jfr");
    try (PagedKvCache cache = PagedKvCache.builder(1, 32).blockTokens(4).capacityTokens(100).build();
        Recording recording = new Recording()) {
      KvSequence seq = cache.newSequence();
      cache.append(seq, 100, new float[100 * 32], 0, new float[100 * 32], 0);
      cache.releaseBefore(seq, 93); // holds tokens 92 to 99
      recording.enable("mqa4j.Decode").withThreshold(java.time.Duration.ZERO);
      recording.start();
      AttentionKernels.scalar().decode(shape, AttentionOptions.defaults().withSlidingWindow(8),
          new float[shape.queryStride()], 0, seq, new float[shape.queryStride()], 0);
      recording.stop();
      recording.dump(file);
    }
    RecordedEvent decode = RecordingFile.readAllEvents(file).stream()
        .filter(e -> e.getEventType().getName().equals("mqa4j.Decode")).findFirst().orElseThrow();
    assertEquals(8, decode.getLong("keys"), "tokens held, not the 100 positions");
    assertEquals(2 * 8 * 32 * 4, decode.getLong("kvBytesRead"));
  }

  @Test
  void aBatchOverCachesOfSeveralTypesSaysSo(@TempDir Path dir) throws Exception {
    AttentionShape shape = AttentionShape.mqa(2, 32);
    Path file = dir.resolve("mixed.jfr");
    try (PagedKvCache f32 = PagedKvCache.builder(1, 32).capacityTokens(16).build();
        PagedKvCache q8 = PagedKvCache.builder(1, 32).type(KvType.Q8_0).capacityTokens(16).build();
        Recording recording = new Recording()) {
      KvSequence a = f32.newSequence();
      KvSequence b = q8.newSequence();
      f32.append(a, 3, new float[3 * 32], 0, new float[3 * 32], 0);
      q8.append(b, 5, new float[5 * 32], 0, new float[5 * 32], 0);
      recording.enable("mqa4j.DecodeBatch").withThreshold(java.time.Duration.ZERO);
      recording.start();
      MemorySegment q = MemorySegment.ofArray(new float[2 * shape.queryStride()]);
      MemorySegment out = MemorySegment.ofArray(new float[2 * shape.queryStride()]);
      AttentionKernels.scalar().decodeBatch(shape, AttentionOptions.defaults(), q,
          new KvView[] {a, b}, out);
      AttentionKernels.scalar().decodeBatch(shape, AttentionOptions.defaults(), q,
          new KvView[] {b, b}, out);
      recording.stop();
      recording.dump(file);
    }
    List<RecordedEvent> batches = RecordingFile.readAllEvents(file).stream()
        .filter(e -> e.getEventType().getName().equals("mqa4j.DecodeBatch")).toList();
    assertEquals(2, batches.size());
    assertEquals("mixed", batches.get(0).getString("kvType"));
    assertEquals(2 * (3 * 32 * 4 + 5 * 34), batches.get(0).getLong("kvBytesRead"));
    assertEquals("q8_0", batches.get(1).getString("kvType"));
  }
}
