package io.mqa4j.core;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Every way to call the kernel API wrongly fails fast with a message naming the argument. */
class KernelArgumentsTest {

  private static final AttentionKernel K = AttentionKernels.scalar();
  private static final AttentionShape S = AttentionShape.gqa(4, 2, 8);
  private static final AttentionOptions O = AttentionOptions.defaults();
  private static final float[] Q = new float[32];
  private static final float[] KV = new float[3 * 16];
  private static final float[] OUT = new float[32];

  @Test
  void nullsAreNamed() {
    assertFails(NullPointerException.class, "shape", () -> K.prefill(null, O, 1, 3, Q, 0, KV, 0, KV, 0, OUT, 0));
    assertFails(NullPointerException.class, "options", () -> K.prefill(S, null, 1, 3, Q, 0, KV, 0, KV, 0, OUT, 0));
    assertFails(NullPointerException.class, "q", () -> K.prefill(S, O, 1, 3, null, 0, KV, 0, KV, 0, OUT, 0));
    assertFails(NullPointerException.class, "k", () -> K.prefill(S, O, 1, 3, Q, 0, null, 0, KV, 0, OUT, 0));
    assertFails(NullPointerException.class, "v", () -> K.prefill(S, O, 1, 3, Q, 0, KV, 0, null, 0, OUT, 0));
    assertFails(NullPointerException.class, "out", () -> K.prefill(S, O, 1, 3, Q, 0, KV, 0, KV, 0, null, 0));
    assertFails(NullPointerException.class, "kv", () -> K.decode(S, O, Q, 0, null, OUT, 0));
    assertFails(NullPointerException.class, "sequences", () -> K.decodeBatch(S, O, seg(32), null, seg(32)));
  }

  @Test
  void countsAndRangesAreChecked() {
    assertFails(IllegalArgumentException.class, "numQueries must be >= 1, got 0",
        () -> K.prefill(S, O, 0, 3, Q, 0, KV, 0, KV, 0, OUT, 0));
    assertFails(IllegalArgumentException.class, "numKeys must be >= 0, got -1",
        () -> K.prefill(S, O, 1, -1, Q, 0, KV, 0, KV, 0, OUT, 0));
    assertFails(IllegalArgumentException.class, "q",
        () -> K.prefill(S, O, 2, 3, Q, 0, KV, 0, KV, 0, new float[64], 0));
    assertFails(IllegalArgumentException.class, "k",
        () -> K.prefill(S, O, 1, 4, Q, 0, KV, 0, new float[64], 0, OUT, 0));
    assertFails(IllegalArgumentException.class, "out",
        () -> K.prefill(S, O, 1, 3, Q, 0, KV, 0, KV, 0, OUT, 1));
    assertFails(IllegalArgumentException.class, "q",
        () -> K.prefill(S, O, 1, 3, Q, -1, KV, 0, KV, 0, OUT, 0));
    assertFails(IllegalArgumentException.class, "v",
        () -> K.prefill(S, O, 1, 3, Q, 0, KV, 0, KV, 1, OUT, 0));
    assertFails(IllegalArgumentException.class, "q holds 64 bytes but needs 128",
        () -> K.prefill(S, O, 1, 3, seg(16), seg(48), seg(48), seg(32)));
    assertFails(IllegalArgumentException.class, "out holds",
        () -> K.prefill(S, O, 1, 3, seg(32), seg(48), seg(48), seg(31)));
    assertFails(IllegalArgumentException.class, "k holds",
        () -> K.prefill(S, O, 1, 3, seg(32), seg(47), seg(48), seg(32)));
  }

  // A size that does not fit says which count made it, and a negative offset is named as one.
  @Test
  void rangeMessagesNameTheOffsetAndTheCountBehindTheSize() {
    assertFails(IllegalArgumentException.class, "qOffset must be >= 0, got -1",
        () -> K.prefill(S, O, 1, 3, Q, -1, KV, 0, KV, 0, OUT, 0));
    assertFails(IllegalArgumentException.class, "outOffset must be >= 0, got -8",
        () -> K.decode(S, O, 3, Q, 0, KV, 0, KV, 0, OUT, -8));
    assertFails(IllegalArgumentException.class, "k has length 48, too short for 64 floats from "
        + "kOffset 0 (numKeys 4 of 16 floats each)",
        () -> K.prefill(S, O, 1, 4, Q, 0, KV, 0, new float[64], 0, OUT, 0));
    assertFails(IllegalArgumentException.class, "v has length 48, too short for 48 floats from "
        + "vOffset 1 (numKeys 3 of 16 floats each)",
        () -> K.prefill(S, O, 1, 3, Q, 0, KV, 0, KV, 1, OUT, 0));
    assertFails(IllegalArgumentException.class, "out has length 32, too short for 64 floats from "
        + "outOffset 0 (numQueries 2 of 32 floats each)",
        () -> K.prefill(S, O, 2, 3, new float[64], 0, KV, 0, KV, 0, OUT, 0));
    assertFails(IllegalArgumentException.class,
        "q holds 64 bytes but needs 128 (numQueries 1 of 32 floats each)",
        () -> K.prefill(S, O, 1, 3, seg(16), seg(48), seg(48), seg(32)));
    assertFails(IllegalArgumentException.class,
        "k holds 188 bytes but needs 192 (numKeys 3 of 16 floats each)",
        () -> K.decode(S, O, 3, seg(32), MemorySegment.ofArray(new float[47]), seg(48), seg(32)));
  }

  @Test
  void contiguousViewsRefuseMissingSegmentsAndHeadsThatAreNotPositive() {
    assertFails(NullPointerException.class, "keys",
        () -> KvView.ofContiguous(1, 4, 1, null, seg(4)));
    assertFails(NullPointerException.class, "values",
        () -> new KvView.ContiguousKv(1, 1, 0, seg(0), null));
    assertFails(IllegalArgumentException.class, "kvHeads must be positive, got -1",
        () -> KvView.ofContiguous(-1, 4, 1, seg(0), seg(0)));
    assertFails(IllegalArgumentException.class, "headDim must be positive, got 0",
        () -> KvView.ofContiguous(2, 0, 1, seg(0), seg(0)));
    assertFails(IllegalArgumentException.class, "more bytes than a long holds",
        () -> KvView.ofContiguous(Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE,
            seg(0), seg(0)));
  }

  @Test
  void negativeKeyCountsAreRejectedOnEveryPath() {
    assertFails(IllegalArgumentException.class, "numKeys must be >= 0, got -1",
        () -> K.decode(S, O, -1, Q, 0, KV, 0, KV, 0, OUT, 0));
    assertFails(IllegalArgumentException.class, "numKeys must be >= 0, got -2",
        () -> K.prefill(S, O, 1, -2, seg(32), seg(48), seg(48), seg(32)));
    assertFails(IllegalArgumentException.class, "numKeys must be >= 0, got -3",
        () -> K.decode(S, O, -3, seg(32), seg(48), seg(48), seg(32)));
    assertFails(IllegalArgumentException.class, "k holds 188 bytes but needs 192",
        () -> K.decode(S, O, 3, seg(32), MemorySegment.ofArray(new float[47]), seg(48), seg(32)));
    assertFails(IllegalArgumentException.class, "numKeys must be >= 0, got -1",
        () -> KvView.ofContiguous(2, 8, -1, seg(16), seg(16)));
    assertFails(IllegalArgumentException.class, "length must be >= 0, got -1",
        () -> new KvView.ContiguousKv(2, 8, -1, seg(16), seg(16)));
    KvView negative = new NegativeLengthView();
    assertFails(IllegalArgumentException.class, "kv.length() must be >= 0, got -3",
        () -> K.decode(S, O, Q, 0, negative, OUT, 0));
    assertFails(IllegalArgumentException.class, "kv.length() must be >= 0, got -3",
        () -> K.prefill(S, O, 1, seg(32), negative, seg(32)));
  }

  /** A view that reports a negative length, as a faulty implementation might. */
  private static final class NegativeLengthView implements KvView {
    @Override public int kvHeads() { return 2; }
    @Override public int headDim() { return 8; }
    @Override public KvType type() { return KvType.F32; }
    @Override public int length() { return -3; }
    @Override public int blockTokens() { return 1; }
    @Override public MemorySegment keyBlock(int block) { return seg(16); }
    @Override public MemorySegment valueBlock(int block) { return seg(16); }
  }

  @Test
  void aReadOnlyOutIsRejectedUpFront() {
    String message = "out must be writable, got a read-only segment";
    MemorySegment readOnly = seg(64).asReadOnly();
    assertFails(IllegalArgumentException.class, message,
        () -> K.prefill(S, O, 1, 3, seg(32), seg(48), seg(48), readOnly));
    try (ContiguousKvCache cache = new ContiguousKvCache(2, 8, 4)) {
      cache.append(new float[16], 0, new float[16], 0);
      assertFails(IllegalArgumentException.class, message,
          () -> K.decode(S, O, seg(32), cache, readOnly));
      assertFails(IllegalArgumentException.class, message,
          () -> K.prefill(S, O, 1, seg(32), cache, readOnly));
      assertFails(IllegalArgumentException.class, message,
          () -> K.decodeBatch(S, O, seg(64), new KvView[] {cache, cache}, readOnly));
    }
  }

  @Test
  void optionsMustFitTheShape() {
    assertFails(IllegalArgumentException.class, "sinks have 3 entries but the shape has queryHeads=4",
        () -> K.prefill(S, O.withSinks(1, 2, 3), 1, 3, Q, 0, KV, 0, KV, 0, OUT, 0));
    assertFails(IllegalArgumentException.class, "alibi slopes have 5 entries",
        () -> K.prefill(S, O.withAlibiSlopes(1, 2, 3, 4, 5), 1, 3, Q, 0, KV, 0, KV, 0, OUT, 0));
  }

  @Test
  void viewsMustFitTheShape() {
    try (ContiguousKvCache wrongHeads = new ContiguousKvCache(1, 8, 4);
        ContiguousKvCache wrongDim = new ContiguousKvCache(2, 16, 4)) {
      assertFails(IllegalArgumentException.class, "kv holds kvHeads=1, headDim=8",
          () -> K.decode(S, O, Q, 0, wrongHeads, OUT, 0));
      assertFails(IllegalArgumentException.class, "headDim=16",
          () -> K.decode(S, O, seg(32), wrongDim, seg(32)));
    }
    assertFails(IllegalArgumentException.class, "keys hold 4 bytes but 1 token of 2x8 floats need 64",
        () -> KvView.ofContiguous(2, 8, 1, seg(1), seg(16)));
  }

  @Test
  void batchesAreChecked() {
    try (ContiguousKvCache cache = new ContiguousKvCache(2, 8, 4)) {
      assertFails(IllegalArgumentException.class, "sequences must not be empty",
          () -> K.decodeBatch(S, O, seg(32), new KvView[0], seg(32)));
      assertFails(NullPointerException.class, "sequences[1]",
          () -> K.decodeBatch(S, O, seg(64), new KvView[] {cache, null}, seg(64)));
      assertFails(IllegalArgumentException.class, "q holds 128 bytes but needs 256",
          () -> K.decodeBatch(S, O, seg(32), new KvView[] {cache, cache}, seg(64)));
    }
  }

  // The array overloads of a batch and of a prefill over a view check as the others do.
  @Test
  void arrayBatchesAndViewPrefillsAreChecked() {
    float[] two = new float[64];
    try (ContiguousKvCache cache = new ContiguousKvCache(2, 8, 4)) {
      cache.append(new float[16], 0, new float[16], 0);
      KvView[] pair = {cache, cache};
      assertFails(IllegalArgumentException.class, "sequences must not be empty",
          () -> K.decodeBatch(S, O, two, 0, new KvView[0], new float[64], 0));
      assertFails(NullPointerException.class, "q",
          () -> K.decodeBatch(S, O, null, 0, pair, new float[64], 0));
      assertFails(IllegalArgumentException.class, "q has length 64, too short for 64 floats from "
          + "qOffset 1 (sequences.length 2 of 32 floats each)",
          () -> K.decodeBatch(S, O, two, 1, pair, new float[64], 0));
      assertFails(IllegalArgumentException.class, "outOffset must be >= 0, got -1",
          () -> K.decodeBatch(S, O, two, 0, pair, new float[64], -1));
      float[] three = new float[96];
      assertFails(IllegalArgumentException.class, "overlaps q",
          () -> K.decodeBatch(S, O, three, 0, pair, three, 32));
      float[] big = new float[128];
      K.decodeBatch(S, O, big, 0, pair, big, 64); // side by side in one array: fine
      assertFails(IllegalArgumentException.class, "numQueries must be >= 1, got 0",
          () -> K.prefill(S, O, 0, two, 0, cache, new float[64], 0));
      assertFails(IllegalArgumentException.class, "out has length 32, too short for 64 floats "
          + "from outOffset 0 (numQueries 2 of 32 floats each)",
          () -> K.prefill(S, O, 2, two, 0, cache, new float[32], 0));
      assertFails(IllegalArgumentException.class, "overlaps q",
          () -> K.prefill(S, O, 1, two, 0, cache, two, 16));
    }
  }

  @Test
  void batchErrorsNameTheSequence() {
    try (ContiguousKvCache cache = new ContiguousKvCache(2, 8, 4);
        ContiguousKvCache wrongHeads = new ContiguousKvCache(1, 8, 4);
        PagedKvCache paged = PagedKvCache.builder(2, 8).capacityBlocks(1).build()) {
      assertFails(IllegalArgumentException.class, "sequences[1] holds kvHeads=1, headDim=8",
          () -> K.decodeBatch(S, O, seg(96), new KvView[] {cache, wrongHeads, cache}, seg(96)));
      assertFails(IllegalArgumentException.class, "sequences[0].length() must be >= 0, got -3",
          () -> K.decodeBatch(S, O, seg(64), new KvView[] {new NegativeLengthView(), cache}, seg(64)));
      KvSequence freed = paged.newSequence();
      paged.free(freed);
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> K.decodeBatch(S, O, seg(96), new KvView[] {cache, cache, freed}, seg(96)));
      assertTrue(e.getMessage().startsWith("sequences[2]: sequence " + freed.id()), e.getMessage());
    }
  }

  @Test
  void anOutputOverlappingAnInputIsRefused() {
    float[] shared = new float[96];
    assertFails(IllegalArgumentException.class, "out [0, 32) overlaps q [0, 32) of the same array",
        () -> K.prefill(S, O, 1, 3, shared, 0, KV, 0, KV, 0, shared, 0));
    assertFails(IllegalArgumentException.class, "out [40, 72) overlaps k [32, 80)",
        () -> K.prefill(S, O, 1, 3, Q, 0, shared, 32, KV, 0, shared, 40));
    assertFails(IllegalArgumentException.class, "overlaps v",
        () -> K.decode(S, O, 3, Q, 0, KV, 0, shared, 0, shared, 47));
    // Side by side in one array is fine.
    K.prefill(S, O, 1, 3, shared, 0, KV, 0, KV, 0, shared, 32);
    MemorySegment whole = seg(96);
    assertFails(IllegalArgumentException.class, "out overlaps q in memory",
        () -> K.prefill(S, O, 1, 3, whole.asSlice(0, 128), seg(48), seg(48), whole.asSlice(64, 128)));
    try (ContiguousKvCache cache = new ContiguousKvCache(2, 8, 4)) {
      cache.append(new float[16], 0, new float[16], 0);
      assertFails(IllegalArgumentException.class, "out [8, 40) overlaps q [0, 32)",
          () -> K.decode(S, O, shared, 0, cache, shared, 8));
      assertFails(IllegalArgumentException.class, "out overlaps q in memory",
          () -> K.decodeBatch(S, O, whole.asSlice(0, 256), new KvView[] {cache, cache},
              whole.asSlice(128, 256)));
    }
    MemorySegment kv = seg(64);
    KvView view = KvView.ofContiguous(2, 8, 3, kv, seg(48));
    assertFails(IllegalArgumentException.class, "out overlaps kv.keys() in memory",
        () -> K.prefill(S, O, 1, seg(32), view, kv.asSlice(64, 128)));
  }

  @Test
  void aReadOnlySegmentOverTheOutputsArrayIsSeenThrough() {
    // heapBase() hides a read-only segment's array; the overlap must still be found.
    float[] shared = new float[48];
    MemorySegment out = MemorySegment.ofArray(shared);
    assertFails(IllegalArgumentException.class, "out overlaps q in memory",
        () -> K.prefill(S, O, 1, 3, out.asReadOnly(), seg(48), seg(48), out));
    assertFails(IllegalArgumentException.class, "out overlaps kv.keys() in memory",
        () -> K.decode(S, O, new float[32], 0, KvView.ofContiguous(2, 8, 3,
            MemorySegment.ofArray(shared).asReadOnly(), seg(48)), shared, 0));
    // Read-only, but of another array, or of the same array's other half: no overlap.
    float[] wide = new float[64];
    K.prefill(S, O, 1, 3, seg(32).asReadOnly(), seg(48), seg(48), out);
    K.prefill(S, O, 1, 0, MemorySegment.ofArray(wide).asReadOnly(), seg(0), seg(0),
        MemorySegment.ofArray(wide).asSlice(128));
  }

  @Test
  void rowCountsWhoseBytesPassALongAreRefused() {
    AttentionShape wide = AttentionShape.mha(1, (1 << 30) + 1);
    assertFails(IllegalArgumentException.class,
        "numQueries=2147483647 rows of 1073741825 floats are more bytes than a long holds",
        () -> K.prefill(wide, O, Integer.MAX_VALUE, 0, seg(4), seg(4), seg(4), seg(4)));
  }

  @Test
  void anOutputOverTheKeysOrValuesOfAViewIsRefused() {
    float[] shared = new float[96];
    KvView overArray = KvView.ofContiguous(2, 8, 3, MemorySegment.ofArray(new float[48]),
        MemorySegment.ofArray(shared));
    assertFails(IllegalArgumentException.class, "out overlaps kv.values() in memory",
        () -> K.decode(S, O, Q, 0, overArray, shared, 40));
    K.decode(S, O, Q, 0, overArray, shared, 48); // just past the values
    MemorySegment outs = MemorySegment.ofArray(shared);
    assertFails(IllegalArgumentException.class, "out overlaps sequences[1].values() in memory",
        () -> K.decodeBatch(S, O, seg(64), new KvView[] {new View(3, 1, 16, KvType.F32), overArray},
            outs.asSlice(0, 256)));
    MemorySegment block = seg(48);
    KvView own = new View(3, 3, 48, KvType.F32) {
      @Override public MemorySegment valueBlock(int b) {
        return block;
      }
    };
    assertFails(IllegalArgumentException.class, "out overlaps kv.valueBlock(0) in memory",
        () -> K.decode(S, O, seg(32), own, block.asSlice(64, 128)));
    try (ContiguousKvCache cache = new ContiguousKvCache(2, 8, 4)) {
      cache.append(new float[16], 0, new float[16], 0);
      assertFails(IllegalArgumentException.class, "out overlaps kv.keys() in memory",
          () -> K.decode(S, O, seg(32), cache, cache.keyBlock(0).asSlice(0, 128)));
    }
  }

  @Test
  void memoryOfAnotherThreadsConfinedArenaIsRefused() throws Exception {
    MemorySegment[] foreign = new MemorySegment[1];
    java.util.concurrent.CountDownLatch made = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
    Thread owner = new Thread(() -> {
      try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
        foreign[0] = arena.allocate(256);
        made.countDown();
        done.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    owner.start();
    try {
      made.await();
      MemorySegment out = seg(32);
      out.fill((byte) 1);
      assertFails(IllegalStateException.class, "q belongs to a confined arena of another thread",
          () -> K.prefill(S, O, 1, 3, foreign[0].asSlice(0, 128), seg(48), seg(48), out));
      assertFails(IllegalStateException.class, "kv.values() belongs to a confined arena of another thread",
          () -> K.decode(S, O, seg(32), KvView.ofContiguous(2, 8, 3, seg(48), foreign[0]), out));
      assertTrue(out.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0) == 1, "out untouched");
    } finally {
      done.countDown();
      owner.join();
    }
  }

  @Test
  void closedMemoryIsRefusedBeforeAnyOutputIsWritten() {
    java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared();
    MemorySegment closedQ = arena.allocate(128);
    MemorySegment closedK = arena.allocate(192);
    arena.close();
    MemorySegment out = seg(32);
    out.fill((byte) 1);
    assertFails(IllegalStateException.class, "q belongs to a closed arena",
        () -> K.prefill(S, O, 1, 3, closedQ, seg(48), seg(48), out));
    assertFails(IllegalStateException.class, "k belongs to a closed arena",
        () -> K.prefill(S, O, 1, 3, seg(32), closedK, seg(48), out));
    assertFails(IllegalStateException.class, "kv.keys() belongs to a closed arena",
        () -> K.decode(S, O, seg(32), KvView.ofContiguous(2, 8, 3, closedK, seg(48)), out));
    assertTrue(out.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0) == 1, "out untouched");
    ContiguousKvCache cache = new ContiguousKvCache(2, 8, 4);
    cache.append(new float[16], 0, new float[16], 0);
    cache.close();
    assertFails(IllegalStateException.class, "kv: the KV cache is closed",
        () -> K.decode(S, O, seg(32), cache, out));
    ContiguousKvCache empty = new ContiguousKvCache(2, 8, 4);
    empty.close();
    assertFails(IllegalStateException.class, "sequences[0]: the KV cache is closed",
        () -> K.decodeBatch(S, O, seg(32), new KvView[] {empty}, out));
    assertTrue(out.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0) == 1, "out untouched");
  }

  @Test
  void aViewOfOneOwnMustHoldTheBlocksItNames() {
    assertFails(IllegalArgumentException.class, "kv.blockTokens() must be >= 1, got 0",
        () -> K.decode(S, O, seg(32), new View(3, 0, 16, KvType.F32), seg(32)));
    assertFails(NullPointerException.class, "kv.type()",
        () -> K.decode(S, O, seg(32), new View(3, 1, 16, null), seg(32)));
    assertFails(IllegalArgumentException.class, "kv.keyBlock(1) holds 60 bytes but its tokens need 64",
        () -> K.decode(S, O, seg(32), new View(3, 1, 15, KvType.F32), seg(32)));
    assertFails(IllegalArgumentException.class, "kv.keyBlock(1) holds 120 bytes but its tokens need 128",
        () -> K.decode(S, O, seg(32), new View(4, 2, 30, KvType.F32), seg(32)));
    // The kernels step through blocks by tokenBytes(); a view of one's own cannot choose it.
    assertFails(IllegalArgumentException.class,
        "kv.tokenBytes() must be 64 (kvHeads=2 heads of 32 bytes), got 32",
        () -> K.decode(S, O, seg(32), new View(3, 1, 16, KvType.F32) {
          @Override public long tokenBytes() {
            return 32;
          }
        }, seg(32)));
    // A last block that is only partly filled needs only its tokens' rows.
    K.decode(S, O, seg(32), new View(3, 2, 16, KvType.F32) {
      @Override public MemorySegment keyBlock(int block) {
        return seg(block == 0 ? 32 : 16);
      }
    }, seg(32));
  }

  /** A view built outside the library: {@code length} tokens in blocks of {@code floats} floats. */
  private static class View implements KvView {
    private final int length;
    private final int blockTokens;
    private final int floats;
    private final KvType type;

    View(int length, int blockTokens, int floats, KvType type) {
      this.length = length;
      this.blockTokens = blockTokens;
      this.floats = floats;
      this.type = type;
    }

    @Override public int kvHeads() { return 2; }
    @Override public int headDim() { return 8; }
    @Override public KvType type() { return type; }
    @Override public int length() { return length; }
    @Override public int blockTokens() { return blockTokens; }
    @Override public MemorySegment keyBlock(int block) { return seg(block == 0 ? 16 * blockTokens : floats); }
    @Override public MemorySegment valueBlock(int block) { return seg(16 * Math.max(1, blockTokens)); }
  }

  private static MemorySegment seg(int floats) {
    return MemorySegment.ofArray(new float[floats]);
  }

  private static void assertFails(Class<? extends RuntimeException> type, String message, Executable call) {
    RuntimeException e = assertThrows(type, call);
    assertTrue(e.getMessage() != null && e.getMessage().contains(message),
        "expected '" + message + "' in: " + e.getMessage());
  }
}
