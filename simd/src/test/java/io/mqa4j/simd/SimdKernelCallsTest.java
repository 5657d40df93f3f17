package io.mqa4j.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvType;
import io.mqa4j.core.KvView;
import io.mqa4j.core.PagedKvCache;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How the simd kernel takes calls the scalar kernel takes without threads: memory, re-entry. */
class SimdKernelCallsTest {

  private static final AttentionKernel SIMD = AttentionKernels.simd(2);
  private static final AttentionKernel SCALAR = AttentionKernels.scalar();
  private static final AttentionShape SHAPE = AttentionShape.gqa(4, 2, 8);

  @Test
  void aStackOverflowInsideACallLeavesTheKernelUsable() throws Exception {
    // Calls made at every depth near a small stack's end: some overflow inside the kernel,
    // where lock() itself could throw holding the lock, and every later call then waited.
    AttentionKernel own = AttentionKernels.simd(3); // a pool of its own: a leak hangs no other test
    AttentionShape shape = AttentionShape.mqa(8, 64);
    int keys = 4096;
    float[] q = random(shape.queryStride(), 1);
    float[] kv = random(keys * 64, 2);
    Runnable call = () -> own.decode(shape, AttentionOptions.defaults(), keys, q, 0, kv, 0, kv, 0,
        new float[shape.queryStride()], 0);
    // Once on a normal stack first: a class first initialised at the stack's end fails for good,
    // and would fail every later test of this JVM that uses it.
    call.run();
    Thread deep = new Thread(null, () -> {
      for (int i = 0; i < 3; i++) {
        descend(call);
      }
    }, "deep", 256 * 1024);
    deep.setDaemon(true);
    deep.start();
    deep.join(60_000);
    assertTrue(!deep.isAlive(), () -> "the deep calls ended; the thread is at "
        + java.util.Arrays.toString(java.util.Arrays.copyOf(deep.getStackTrace(), 8)));
    float[] expected = new float[shape.queryStride()];
    SCALAR.decode(shape, AttentionOptions.defaults(), keys, q, 0, kv, 0, kv, 0, expected, 0);
    float[] actual = new float[shape.queryStride()];
    org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(30),
        () -> own.decode(shape, AttentionOptions.defaults(), keys, q, 0, kv, 0, kv, 0, actual, 0),
        "a later call waited for a lock a dead thread held");
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], 1e-4f, "at " + i);
    }
  }

  /** Recurses to the stack's end, then calls at every depth on the way back. */
  private static void descend(Runnable call) {
    try {
      descend(call);
    } catch (StackOverflowError deeper) {
      // the end of the stack: calls start from here
    }
    try {
      call.run();
    } catch (StackOverflowError e) {
      // expected near the end; the kernel must stay usable
    }
  }

  private static float[] random(int n, long seed) {
    Random random = new Random(seed);
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = random.nextFloat() * 2 - 1;
    }
    return a;
  }

  @Test
  void aCallHandedToTheScalarKernelIsRecordedAsScalar(@TempDir Path dir) throws Exception {
    // Past a million elements a head, bf16 rows go to the scalar kernel; the event says so.
    int headDim = (1 << 20) + 32;
    AttentionShape shape = AttentionShape.mqa(1, headDim);
    Path file = dir.resolve("handed.jfr");
    try (PagedKvCache bf16 = PagedKvCache.builder(1, headDim).type(KvType.BF16).capacityTokens(16)
            .build();
        PagedKvCache f32 = PagedKvCache.builder(1, headDim).capacityTokens(16).build();
        Recording recording = new Recording()) {
      KvSequence a = bf16.newSequence();
      KvSequence b = f32.newSequence();
      float[] kv = new float[3 * headDim];
      bf16.append(a, 3, kv, 0, kv, 0);
      f32.append(b, 3, kv, 0, kv, 0);
      recording.enable("mqa4j.Decode").withThreshold(java.time.Duration.ZERO);
      recording.enable("mqa4j.DecodeBatch").withThreshold(java.time.Duration.ZERO);
      recording.start();
      float[] q = new float[2 * headDim];
      SIMD.decode(shape, AttentionOptions.defaults(), q, 0, a, new float[headDim], 0);
      SIMD.decode(shape, AttentionOptions.defaults(), q, 0, b, new float[headDim], 0);
      SIMD.decodeBatch(shape, AttentionOptions.defaults(), MemorySegment.ofArray(q),
          new KvView[] {b, a}, MemorySegment.ofArray(new float[2 * headDim]));
      recording.stop();
      recording.dump(file);
    }
    List<RecordedEvent> events = RecordingFile.readAllEvents(file);
    List<String> decodes = events.stream()
        .filter(e -> e.getEventType().getName().equals("mqa4j.Decode"))
        .map(e -> e.getString("kernel")).toList();
    assertEquals(List.of("scalar", "simd"), decodes.subList(0, 2));
    RecordedEvent batch = events.stream()
        .filter(e -> e.getEventType().getName().equals("mqa4j.DecodeBatch")).findFirst().orElseThrow();
    assertEquals("simd+scalar", batch.getString("kernel"));
  }

  @Test
  void segmentsOfAConfinedArenaAreReadOnTheCallersThread() {
    // Large enough that the kernel would split the keys across its threads.
    int keys = 4096;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment q = filled(arena, SHAPE.queryStride(), 1);
      MemorySegment k = filled(arena, (long) keys * SHAPE.kvStride(), 2);
      MemorySegment v = filled(arena, (long) keys * SHAPE.kvStride(), 3);
      MemorySegment out = arena.allocate(4L * SHAPE.queryStride());
      MemorySegment expected = arena.allocate(out.byteSize());
      SIMD.prefill(SHAPE, AttentionOptions.defaults(), 1, keys, q, k, v, out);
      SCALAR.prefill(SHAPE, AttentionOptions.defaults(), 1, keys, q, k, v, expected);
      assertClose(expected, out);
      MemorySegment decoded = arena.allocate(out.byteSize());
      SIMD.decode(SHAPE, AttentionOptions.defaults(), keys, q, k, v, decoded); // the same call
      assertClose(expected, decoded);

      MemorySegment qs = filled(arena, 2L * SHAPE.queryStride(), 4);
      MemorySegment outs = arena.allocate(4L * 2 * SHAPE.queryStride());
      MemorySegment expectedOuts = arena.allocate(outs.byteSize());
      KvView view = KvView.ofContiguous(2, 8, keys, k, v);
      SIMD.decodeBatch(SHAPE, AttentionOptions.defaults(), qs, new KvView[] {view, view}, outs);
      SCALAR.decodeBatch(SHAPE, AttentionOptions.defaults(), qs, new KvView[] {view, view},
          expectedOuts);
      assertClose(expectedOuts, outs);
    }
  }

  @Test
  void aViewWhoseLaterBlocksAreConfinedIsReadOnTheCallersThread() {
    int blockTokens = 512;
    int keys = 4 * blockTokens;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment[] blocks = new MemorySegment[4];
      for (int b = 0; b < blocks.length; b++) {
        long floats = (long) blockTokens * SHAPE.kvStride();
        blocks[b] = b == 0 ? MemorySegment.ofArray(new float[(int) floats]) : arena.allocate(4 * floats);
        Random random = new Random(b);
        for (long i = 0; i < floats; i++) {
          blocks[b].setAtIndex(ValueLayout.JAVA_FLOAT, i, random.nextFloat() - 0.5f);
        }
      }
      KvView mixed = new KvView() {
        @Override public int kvHeads() { return 2; }
        @Override public int headDim() { return 8; }
        @Override public KvType type() { return KvType.F32; }
        @Override public int length() { return keys; }
        @Override public int blockTokens() { return blockTokens; }
        @Override public MemorySegment keyBlock(int b) { return blocks[b]; }
        @Override public MemorySegment valueBlock(int b) { return blocks[b]; }
      };
      // Queries and outputs on the heap: only the view's later blocks keep the workers out.
      MemorySegment q = MemorySegment.ofArray(new float[4 * SHAPE.queryStride()]);
      q.copyFrom(filled(arena, 4L * SHAPE.queryStride(), 9));
      MemorySegment out = MemorySegment.ofArray(new float[4 * SHAPE.queryStride()]);
      MemorySegment expected = MemorySegment.ofArray(new float[4 * SHAPE.queryStride()]);
      SIMD.prefill(SHAPE, AttentionOptions.defaults(), 4, q, mixed, out);
      SCALAR.prefill(SHAPE, AttentionOptions.defaults(), 4, q, mixed, expected);
      assertClose(expected, out);
    }
  }

  @Test
  void aCallFromInsideACallIsRefused() {
    float[] q = new float[SHAPE.queryStride()];
    float[] out = new float[SHAPE.queryStride()];
    // Outside a call (while the arguments are checked) the callback's call is an ordinary one;
    // inside one, on the caller's thread or a worker's, it must be refused.
    KvView callsBack = callingBack(() -> SIMD.decode(SHAPE, AttentionOptions.defaults(),
        new float[SHAPE.queryStride()], 0,
        KvView.ofContiguous(2, 8, 0, MemorySegment.NULL, MemorySegment.NULL),
        new float[SHAPE.queryStride()], 0));
    RuntimeException e = assertThrows(IllegalStateException.class,
        () -> SIMD.decode(SHAPE, AttentionOptions.defaults(), q, 0, callsBack, out, 0));
    assertTrue(e.getMessage().contains("called from inside one of its own calls"), e.getMessage());
    // The kernel is still usable afterwards.
    float[] fine = new float[SHAPE.queryStride()];
    SIMD.decode(SHAPE, AttentionOptions.defaults(), 1, q, 0,
        new float[SHAPE.kvStride()], 0, new float[SHAPE.kvStride()], 0, fine, 0);
  }

  @Test
  void aCallFromInsideAnotherSimdKernelsCallIsRefused() {
    // Two kernels whose views call each other would wait on each other's lock and workers,
    // spinning, for ever; the inner call is refused whether it runs on the caller or a worker.
    AttentionKernel other = AttentionKernels.simd(3);
    float[] q = new float[SHAPE.queryStride()];
    KvView callsOther = callingBack(() -> other.decode(SHAPE, AttentionOptions.defaults(),
        new float[SHAPE.queryStride()], 0,
        KvView.ofContiguous(2, 8, 0, MemorySegment.NULL, MemorySegment.NULL),
        new float[SHAPE.queryStride()], 0));
    RuntimeException e = assertThrows(IllegalStateException.class, () -> SIMD.decode(SHAPE,
        AttentionOptions.defaults(), q, 0, callsOther, new float[SHAPE.queryStride()], 0));
    assertTrue(e.getMessage().contains("from inside a call of another simd kernel"),
        e.getMessage());
    // Both kernels are still usable afterwards.
    for (AttentionKernel k : List.of(SIMD, other)) {
      k.decode(SHAPE, AttentionOptions.defaults(), 1, q, 0, new float[SHAPE.kvStride()], 0,
          new float[SHAPE.kvStride()], 0, new float[SHAPE.queryStride()], 0);
    }
  }

  @Test
  void releasedThreadsEndAndTheNextCallStartsThemAgainWithTheSameResults() {
    AttentionKernel kernel = AttentionKernels.simd(3);
    Random random = new Random(11);
    int keys = 2048;
    float[] q = new float[SHAPE.queryStride()];
    float[] k = new float[keys * SHAPE.kvStride()];
    float[] v = new float[keys * SHAPE.kvStride()];
    for (float[] a : List.of(q, k, v)) {
      for (int i = 0; i < a.length; i++) {
        a[i] = random.nextFloat() - 0.5f;
      }
    }
    float[] first = new float[SHAPE.queryStride()];
    kernel.decode(SHAPE, AttentionOptions.defaults(), keys, q, 0, k, 0, v, 0, first, 0);
    AttentionKernels.releaseThreads();
    List<Thread> left = Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("mqa4j-worker-") && t.isAlive()).toList();
    assertTrue(left.isEmpty(), "workers still alive: " + left);
    float[] again = new float[SHAPE.queryStride()];
    kernel.decode(SHAPE, AttentionOptions.defaults(), keys, q, 0, k, 0, v, 0, again, 0);
    // The same to rounding: the JIT may have compiled the exponential anew in between.
    assertClose(MemorySegment.ofArray(first), MemorySegment.ofArray(again));
    // Refused from inside a call, where the pool to end could be the caller's own.
    KvView releases = callingBack(AttentionKernels::releaseThreads);
    RuntimeException e = assertThrows(IllegalStateException.class, () -> kernel.decode(SHAPE,
        AttentionOptions.defaults(), q, 0, releases, new float[SHAPE.queryStride()], 0));
    assertTrue(e.getMessage().contains("releaseThreads was called from inside"), e.getMessage());
  }

  @Test
  void widenedRowsTooLargeForATileFallBackToTheReference() {
    int headDim = (1 << 20) + 16; // a tile of widened f16 rows would pass 256 MiB
    AttentionShape shape = AttentionShape.mqa(1, headDim);
    Random random = new Random(7);
    float[] q = new float[headDim];
    float[] k = new float[2 * headDim];
    float[] v = new float[2 * headDim];
    for (int i = 0; i < k.length; i++) {
      k[i] = random.nextFloat() - 0.5f;
      v[i] = random.nextFloat() - 0.5f;
    }
    for (int i = 0; i < q.length; i++) {
      q[i] = (random.nextFloat() - 0.5f) / 64;
    }
    try (PagedKvCache cache = PagedKvCache.builder(1, headDim).type(KvType.F16).blockTokens(1)
        .capacityBlocks(3).build()) {
      KvSequence seq = cache.newSequence();
      cache.append(seq, 2, k, 0, v, 0);
      float[] out = new float[headDim];
      float[] expected = new float[headDim];
      SIMD.decode(shape, AttentionOptions.defaults(), q, 0, seq, out, 0);
      SCALAR.decode(shape, AttentionOptions.defaults(), q, 0, seq, expected, 0);
      assertArrayEquals(expected, out);
      // A batch as large as the pool, which would otherwise give each worker whole sequences.
      KvSequence other = cache.newSequence();
      cache.append(other, 1, k, headDim, v, headDim);
      MemorySegment qs = MemorySegment.ofArray(new float[2 * headDim]);
      MemorySegment.copy(q, 0, qs, ValueLayout.JAVA_FLOAT, 0, headDim);
      MemorySegment.copy(q, 0, qs, ValueLayout.JAVA_FLOAT, 4L * headDim, headDim);
      MemorySegment outs = MemorySegment.ofArray(new float[2 * headDim]);
      MemorySegment expectedOuts = MemorySegment.ofArray(new float[2 * headDim]);
      SIMD.decodeBatch(shape, AttentionOptions.defaults(), qs, new KvView[] {seq, other}, outs);
      SCALAR.decodeBatch(shape, AttentionOptions.defaults(), qs, new KvView[] {seq, other},
          expectedOuts);
      assertArrayEquals(expectedOuts.toArray(ValueLayout.JAVA_FLOAT),
          outs.toArray(ValueLayout.JAVA_FLOAT));
    }
  }

  private static MemorySegment filled(Arena arena, long floats, long seed) {
    MemorySegment s = arena.allocate(4 * floats);
    Random random = new Random(seed);
    for (long i = 0; i < floats; i++) {
      s.setAtIndex(ValueLayout.JAVA_FLOAT, i, random.nextFloat() - 0.5f);
    }
    return s;
  }

  private static void assertClose(MemorySegment expected, MemorySegment actual) {
    float[] e = expected.toArray(ValueLayout.JAVA_FLOAT);
    float[] a = actual.toArray(ValueLayout.JAVA_FLOAT);
    for (int i = 0; i < e.length; i++) {
      assertTrue(Math.abs(e[i] - a[i]) <= 1e-5f, "element " + i + ": " + e[i] + " against " + a[i]);
    }
  }

  /**
   * A view of 4096 tokens of 2 heads of 8 whose {@code keyBlock} first runs {@code callback}: a
   * kernel reading it runs the callback outside its call (checking the arguments) and inside it.
   */
  private static KvView callingBack(Runnable callback) {
    MemorySegment block = MemorySegment.ofArray(new float[4096 * 16]);
    return new KvView() {
      @Override public int kvHeads() { return 2; }
      @Override public int headDim() { return 8; }
      @Override public KvType type() { return KvType.F32; }
      @Override public int length() { return 4096; }
      @Override public int blockTokens() { return 4096; }
      @Override public MemorySegment valueBlock(int b) { return block; }

      @Override
      public MemorySegment keyBlock(int b) {
        callback.run();
        return block;
      }
    };
  }
}
