package io.mqa4j.core;

import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static io.mqa4j.core.testkit.KernelChecks.assertClose;
import static io.mqa4j.core.testkit.KernelChecks.options;
import static io.mqa4j.core.testkit.KernelChecks.tolerance;
import static io.mqa4j.core.testkit.KernelChecks.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.core.testkit.KvContents;
import io.mqa4j.core.testkit.Oracle;
import io.mqa4j.core.testkit.SlidingWindowRelease;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class PagedKvCacheTest {

  private static final AttentionKernel SCALAR = AttentionKernels.scalar();

  @Test
  void accountingIsExactArithmetic() {
    // One layer of 32 KV heads of dim 128 in f16: 2 * 32 * 128 * 2 bytes = 16 KiB per token.
    KvFootprint mha = new KvFootprint(32, 128, KvType.F16, 16);
    assertEquals(16 * 1024, mha.bytesPerToken());
    assertEquals(512, new KvFootprint(1, 128, KvType.F16, 16).bytesPerToken(), "MQA: one KV head");
    assertEquals(16 * 16 * 1024, mha.blockBytes());
    assertEquals(3, mha.blocksFor(33));
    assertEquals(3L * 16 * 16 * 1024, mha.allocatedBytes(33));
    assertEquals(15L * 16 * 1024, mha.wasteBytes(33));
    assertEquals(33L * 16 * 1024, mha.decodeBytesRead(33));

    try (PagedKvCache cache = PagedKvCache.builder(2, 32).type(KvType.Q8_0).blockTokens(4)
        .capacityBlocks(10).build()) {
      long perToken = 2 * 2 * 34; // K and V, 2 heads, one 34-byte q8_0 block each
      assertEquals(perToken, cache.footprint().bytesPerToken());
      assertEquals(10 * 4 * perToken, cache.capacityBytes());
      assertTrue(cache.reservedBytes() >= cache.capacityBytes());
      assertEquals(0, cache.usedBytes());
      KvSequence a = cache.newSequence();
      float[] kv = new float[6 * 64];
      cache.append(a, 6, kv, 0, kv, 0);
      assertEquals(2, cache.usedBlocks());
      assertEquals(8, cache.freeBlocks());
      assertEquals(2 * 4 * perToken, cache.usedBytes());
      assertEquals(2 * perToken, cache.wasteBytes(), "two empty rows in the second block");
      assertEquals(2 * 4 * perToken, cache.sequenceBytes(a));
      assertEquals(6 * perToken, cache.decodeBytesRead(a));
      KvSequence b = cache.fork(a);
      assertEquals(2, cache.usedBlocks(), "a fork shares every block");
      assertEquals(2 * perToken, cache.wasteBytes(), "shared blocks counted once");
      cache.append(b, kv, 0, kv, 0);
      assertEquals(3, cache.usedBlocks(), "copy on write of the shared partial block");
      assertEquals(2 * perToken + perToken, cache.wasteBytes());
    }
  }

  @Test
  void capacityInBytesRoundsDownToBlocks() {
    long block = new KvFootprint(1, 8, KvType.F32, 16).blockBytes();
    try (PagedKvCache cache = PagedKvCache.builder(1, 8).capacityBytes(3 * block + block / 2).build()) {
      assertEquals(3, cache.capacityBlocks());
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PagedKvCache.builder(1, 8).capacityBytes(block - 1).build());
    assertTrue(e.getMessage().contains("holds no block"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> PagedKvCache.builder(1, 8).build());
    assertThrows(IllegalArgumentException.class, () -> PagedKvCache.builder(0, 8).capacityBlocks(1).build());
    assertThrows(IllegalArgumentException.class, () -> PagedKvCache.builder(1, 8).blockTokens(0).capacityBlocks(1).build());
    IllegalArgumentException q8 = assertThrows(IllegalArgumentException.class,
        () -> PagedKvCache.builder(1, 40).type(KvType.Q8_0).capacityBlocks(1).build());
    assertTrue(q8.getMessage().contains("headDim=40"), q8.getMessage());
  }

  @Test
  void capacityIsResolvedAtBuildWithTheLastFormGiven() {
    // Tokens before the block size: 100 tokens in blocks of 8 need 13 blocks, not 7 of 16.
    try (PagedKvCache cache = PagedKvCache.builder(1, 8).capacityTokens(100).blockTokens(8).build()) {
      assertEquals(13, cache.capacityBlocks());
    }
    // Bytes before the type: a q8_0 block of 16 tokens of one 32-wide head is 16 * 2 * 34 bytes.
    long q8Block = new KvFootprint(1, 32, KvType.Q8_0, 16).blockBytes();
    try (PagedKvCache cache = PagedKvCache.builder(1, 32).capacityBytes(5 * q8Block).type(KvType.Q8_0).build()) {
      assertEquals(5, cache.capacityBlocks());
    }
    try (PagedKvCache cache = PagedKvCache.builder(1, 8).capacityBlocks(3).capacityTokens(100).build()) {
      assertEquals(7, cache.capacityBlocks(), "tokens given last win");
    }
    long f32Block = new KvFootprint(1, 8, KvType.F32, 4).blockBytes();
    try (PagedKvCache cache = PagedKvCache.builder(1, 8).capacityTokens(100).capacityBytes(2 * f32Block)
        .blockTokens(4).build()) {
      assertEquals(2, cache.capacityBlocks(), "bytes given last win");
    }
    try (PagedKvCache cache = PagedKvCache.builder(1, 8).capacityBytes(1).capacityBlocks(4).build()) {
      assertEquals(4, cache.capacityBlocks(), "blocks given last win");
    }
  }

  @Test
  void badCapacitiesNameTheSetter() {
    assertEquals("capacityTokens must be positive, got 0", assertThrows(IllegalArgumentException.class,
        () -> PagedKvCache.builder(1, 8).capacityTokens(0).build()).getMessage());
    assertEquals("capacityBytes must be positive, got -1", assertThrows(IllegalArgumentException.class,
        () -> PagedKvCache.builder(1, 8).capacityBytes(-1).build()).getMessage());
    assertEquals("capacityBlocks must be positive, got -5", assertThrows(IllegalArgumentException.class,
        () -> PagedKvCache.builder(1, 8).capacityBlocks(-5).build()).getMessage());
    assertEquals("a capacity is required: capacityBlocks, capacityBytes or capacityTokens",
        assertThrows(IllegalArgumentException.class, () -> PagedKvCache.builder(1, 8).build()).getMessage());
    assertEquals("capacityBlocks must be at most 2147483639, got 2147483640",
        assertThrows(IllegalArgumentException.class,
            () -> PagedKvCache.builder(1, 8).capacityBlocks(Integer.MAX_VALUE - 7).build()).getMessage());
    assertEquals("capacityTokens 9223372036854775807 needs 576460752303423488 blocks, more than the"
        + " 2147483639 a cache can hold", assertThrows(IllegalArgumentException.class,
            () -> PagedKvCache.builder(1, 8).capacityTokens(Long.MAX_VALUE).build()).getMessage());
  }

  @Test
  void sizesThatOverflowAreRejected() {
    // Each would otherwise wrap round to a bogus (here negative) allocation size.
    assertEquals("kvHeads * headDim must fit in an int, got kvHeads=65536 * headDim=65536 = 4294967296",
        assertThrows(IllegalArgumentException.class, () -> PagedKvCache.builder(65536, 65536)
            .blockTokens(Integer.MAX_VALUE).capacityBlocks(1).build()).getMessage());
    assertEquals("blockTokens=2147483647 tokens of 4294967296 bytes (kvHeads=1, headDim=1073741824, f32)"
        + " make a block too large for a long byte count", assertThrows(IllegalArgumentException.class,
            () -> PagedKvCache.builder(1, 1 << 30).blockTokens(Integer.MAX_VALUE).capacityBlocks(1).build())
            .getMessage());
    assertEquals("a capacity of 4 blocks of 2305843009213693952 bytes is too large for a long byte count",
        assertThrows(IllegalArgumentException.class, () -> PagedKvCache.builder(1, 1 << 28)
            .blockTokens(1 << 30).capacityBlocks(4).build()).getMessage());
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 3, 16, 100, 1000})
  void pagedF32DecodeIsBitIdenticalToTheContiguousPath(int blockTokens) {
    AttentionShape shape = AttentionShape.gqa(8, 2, 40);
    Random random = new Random(blockTokens);
    int n = 257;
    float[] k = values(random, n * shape.kvStride());
    float[] v = values(random, n * shape.kvStride());
    float[] q = values(random, shape.queryStride());
    for (int bits : new int[] {0, 1 | 2 | 4, 8 | 32}) {
      AttentionOptions options = options(bits, 8, new Random(bits), n);
      try (PagedKvCache cache = PagedKvCache.builder(2, 40).blockTokens(blockTokens)
          .capacityTokens(n).build();
          ContiguousKvCache contiguous = new ContiguousKvCache(2, 40, n)) {
        KvSequence seq = cache.newSequence();
        // Appended in uneven pieces, so tokens cross block boundaries mid-append.
        int at = 0;
        for (int piece : new int[] {1, 7, 100, 149}) {
          cache.append(seq, piece, k, at * shape.kvStride(), v, at * shape.kvStride());
          at += piece;
        }
        contiguous.append(n, k, 0, v, 0);
        float[] paged = new float[q.length];
        float[] flat = new float[q.length];
        SCALAR.decode(shape, options, q, 0, seq, paged, 0);
        SCALAR.decode(shape, options, q, 0, contiguous, flat, 0);
        assertArrayEquals(flat, paged, "block size " + blockTokens + " options " + options);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(KvType.class)
  void everyTypeMatchesTheOracleOnItsDequantisedValues(KvType type) {
    AttentionShape shape = AttentionShape.gqa(8, 2, 64);
    Random random = new Random(type.ordinal());
    int n = 150;
    int nq = 3;
    float[] k = values(random, n * shape.kvStride());
    float[] v = values(random, n * shape.kvStride());
    float[] q = values(random, nq * shape.queryStride());
    try (PagedKvCache cache = PagedKvCache.builder(2, 64).type(type).blockTokens(16).capacityTokens(n).build()) {
      KvSequence seq = cache.newSequence();
      cache.append(seq, n, k, 0, v, 0);
      float[] kd = dequantised(seq, true);
      float[] vd = dequantised(seq, false);
      for (int bits : new int[] {0, 1, 2 | 4 | 32, 8 | 64}) {
        AttentionOptions options = options(bits, 8, new Random(bits), n);
        float[] out = new float[q.length];
        SCALAR.prefill(shape, options, nq, MemorySegment.ofArray(q), seq, MemorySegment.ofArray(out));
        double[] expected = Oracle.attend(shape, options, nq, n, q, kd, vd);
        double tol = tolerance(64, n, options);
        for (int i = 0; i < out.length; i++) {
          assertClose(expected[i], out[i], tol, type + " vs oracle", i, options.toString());
        }
      }
    }
  }

  static float[] dequantised(KvSequence seq, boolean keys) {
    return KvContents.dequantised(seq, keys);
  }

  @Test
  void memoryTheMachineCannotGiveFailsNamingTheCapacity() {
    OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> PagedKvCache.builder(1 << 10, 1 << 10)
        .blockTokens(1 << 20).capacityBlocks(1 << 10).build());
    assertTrue(e.getMessage().contains("capacityBlocks=1024"), e.getMessage());
  }

  @Test
  void blocksAreLentReadOnlySoNoWriteBypassesCopyOnWrite() {
    try (PagedKvCache cache = PagedKvCache.builder(1, 2).blockTokens(4).capacityBlocks(8).build()) {
      KvSequence parent = cache.newSequence();
      cache.append(parent, 2, seq(0, 4), 0, seq(100, 4), 0);
      KvSequence child = cache.fork(parent);
      MemorySegment keys = child.keyBlock(0);
      MemorySegment values = child.valueBlock(0);
      assertTrue(keys.isReadOnly(), "keys of a shared block");
      assertTrue(values.isReadOnly(), "values of a shared block");
      assertThrows(IllegalArgumentException.class, // the JDK's answer to a write to read-only memory
          () -> keys.set(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, -7f));
      assertArrayEquals(seq(0, 4), dequantised(parent, true), "the parent's keys are untouched");

      MemorySegment outOverBlock = child.keyBlock(0);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> SCALAR.decode(new AttentionShape(1, 1, 2), AttentionOptions.defaults(),
              MemorySegment.ofArray(new float[2]), child, outOverBlock));
      assertTrue(e.getMessage().contains("out"), e.getMessage());
    }
  }

  @Test
  void forkSharesThenCopiesOnWrite() {
    try (PagedKvCache cache = PagedKvCache.builder(1, 2).blockTokens(4).capacityBlocks(8).build()) {
      KvSequence parent = cache.newSequence();
      cache.append(parent, 6, seq(0, 12), 0, seq(100, 12), 0);
      KvSequence child = cache.fork(parent);
      int[] shared = parent.blockTable();
      assertArrayEquals(shared, child.blockTable());
      assertEquals(2, cache.referenceCount(shared[0]));
      assertEquals(2, cache.referenceCount(shared[1]));

      cache.append(child, new float[] {-1, -2}, 0, new float[] {-3, -4}, 0);
      assertEquals(shared[0], child.blockTable()[0], "the full block stays shared");
      assertFalse(shared[1] == child.blockTable()[1], "the partial block was copied");
      assertEquals(1, cache.referenceCount(shared[1]));
      assertEquals(6, parent.length());
      assertEquals(7, child.length());
      assertArrayEquals(seq(0, 12), Arrays.copyOf(dequantised(child, true), 12), "copied rows intact");
      assertEquals(-1f, dequantised(child, true)[12]);

      cache.append(parent, new float[] {9, 9}, 0, new float[] {9, 9}, 0);
      assertEquals(9f, dequantised(parent, true)[12], "parent writes its own block");
      assertEquals(-1f, dequantised(child, true)[12], "child unaffected");
      cache.free(parent);
      assertEquals(1, cache.referenceCount(shared[0]));
      cache.free(child);
      assertEquals(8, cache.freeBlocks());
    }
  }

  @Test
  void truncateReleasesBlocksAndCopiesASharedTailOnTheNextAppend() {
    try (PagedKvCache cache = PagedKvCache.builder(1, 1).blockTokens(4).capacityBlocks(6).build()) {
      KvSequence a = cache.newSequence();
      cache.append(a, 10, seq(0, 10), 0, seq(0, 10), 0);
      assertEquals(3, cache.usedBlocks());
      cache.truncate(a, 5);
      assertEquals(2, cache.usedBlocks());
      assertEquals(5, a.length());
      KvSequence b = cache.fork(a);
      cache.truncate(b, 2);
      cache.append(b, new float[] {42}, 0, new float[] {42}, 0);
      assertArrayEquals(new float[] {0, 1, 42}, dequantised(b, true));
      assertArrayEquals(new float[] {0, 1, 2, 3, 4}, dequantised(a, true), "the shared block was copied, not written");
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cache.truncate(a, 6));
      assertTrue(e.getMessage().contains("length must be in [0, 5]"), e.getMessage());
      cache.truncate(a, 0);
      assertEquals(0, a.blockCount());
    }
  }

  @Test
  void releaseBeforeGivesBackWholeBlocksAndKeepsPositions() {
    try (PagedKvCache cache = PagedKvCache.builder(1, 2).blockTokens(4).capacityBlocks(8).build()) {
      long perToken = cache.footprint().bytesPerToken();
      KvSequence a = cache.newSequence();
      cache.append(a, 14, seq(0, 28), 0, seq(100, 28), 0); // blocks of 4, 4, 4 and 2 tokens
      int[] table = a.blockTable();
      assertEquals(0, cache.releaseBefore(a, 3), "no block lies wholly before token 3");
      assertEquals(0, a.firstKey());
      assertEquals(2, cache.releaseBefore(a, 9), "tokens 0-7: blocks 0 and 1");
      assertEquals(8, a.firstKey());
      assertEquals(14, a.length(), "positions do not move");
      assertEquals(2, a.blockCount());
      assertArrayEquals(Arrays.copyOfRange(table, 2, 4), a.blockTable());
      assertEquals(0, cache.referenceCount(table[0]));
      assertEquals(6, cache.freeBlocks());
      assertEquals(2 * 4 * perToken, cache.sequenceBytes(a));
      assertEquals(6 * perToken, cache.decodeBytesRead(a), "tokens 8 to 13");
      assertEquals(2 * perToken, cache.wasteBytes());
      IndexOutOfBoundsException gone = assertThrows(IndexOutOfBoundsException.class, () -> a.keyBlock(1));
      assertTrue(gone.getMessage().contains("block 1 of sequence " + a.id() + " was released"),
          gone.getMessage());
      assertThrows(IndexOutOfBoundsException.class, () -> a.valueBlock(0));
      float[] expected = seq(0, 28);
      Arrays.fill(expected, 0, 16, 0f); // released tokens read as 0
      assertArrayEquals(expected, dequantised(a, true), "tokens 8 on where they were");

      cache.append(a, 3, seq(28, 6), 0, seq(128, 6), 0); // fills block 3, opens block 4
      assertEquals(17, a.length());
      expected = seq(0, 34);
      Arrays.fill(expected, 0, 16, 0f);
      assertArrayEquals(expected, dequantised(a, true));
      assertEquals(0, cache.releaseBefore(a, 8), "already released");
      assertEquals(0, cache.releaseBefore(a, -3), "a window not yet full releases nothing");
      IllegalArgumentException past = assertThrows(IllegalArgumentException.class,
          () -> cache.releaseBefore(a, 18));
      assertTrue(past.getMessage().contains("token must be <= the length 17"), past.getMessage());
      IllegalArgumentException cut = assertThrows(IllegalArgumentException.class,
          () -> cache.truncate(a, 7));
      assertTrue(cut.getMessage().contains("length must be in [8, 17]")
          && cut.getMessage().contains("released"), cut.getMessage());
      assertEquals(8, a.firstKey(), "a refused truncate changes nothing");

      cache.truncate(a, 8);
      assertEquals(0, a.blockCount());
      assertEquals(8, cache.freeBlocks());
      cache.append(a, new float[] {42, 43}, 0, new float[] {44, 45}, 0);
      assertEquals(9, a.length());
      assertEquals(42f, dequantised(a, true)[16], "token 8 lands at position 8");
      assertEquals(45f, dequantised(a, false)[17]);
      assertEquals(0, cache.releaseBefore(a, 9), "block 2 holds token 8 itself, so it stays");
      cache.free(a);
      assertEquals(8, cache.freeBlocks());
    }
  }

  @Test
  void releasingTheFrontOfAForkLeavesSharedBlocksToTheOther() {
    try (PagedKvCache cache = PagedKvCache.builder(1, 2).blockTokens(4).capacityBlocks(8).build()) {
      KvSequence parent = cache.newSequence();
      cache.append(parent, 12, seq(0, 24), 0, seq(100, 24), 0);
      int[] table = parent.blockTable();
      KvSequence child = cache.fork(parent);
      assertEquals(3, cache.releaseBefore(child, 12), "every block of a whole sequence");
      assertEquals(0, child.blockCount());
      assertEquals(12, child.firstKey());
      assertEquals(5, cache.freeBlocks(), "the parent still holds all three");
      for (int b : table) {
        assertEquals(1, cache.referenceCount(b));
      }
      assertArrayEquals(seq(0, 24), dequantised(parent, true));
      KvSequence grandchild = cache.fork(child);
      assertEquals(12, grandchild.firstKey());
      assertEquals(12, grandchild.length());
      cache.append(child, new float[] {7, 8}, 0, new float[] {9, 10}, 0);
      assertEquals(1, child.blockCount());
      assertEquals(7f, dequantised(child, true)[24]);
      assertEquals(0, grandchild.blockCount(), "the fork's own table is apart");
      assertEquals(2, cache.releaseBefore(parent, 8));
      assertEquals(1, cache.releaseBefore(parent, 12));
      assertEquals(7, cache.freeBlocks());
      cache.free(parent);
      cache.free(child);
      cache.free(grandchild);
      assertEquals(8, cache.freeBlocks());
    }
  }

  @ParameterizedTest
  @EnumSource(KvType.class)
  void aSequenceReleasedBehindItsWindowAttendsAsTheWholeOne(KvType type) {
    SlidingWindowRelease.check(SCALAR, type, true);
  }

  @Test
  void aFullCacheThrowsAndIsLeftExactlyAsItWas() {
    try (PagedKvCache cache = PagedKvCache.builder(1, 2).blockTokens(4).capacityBlocks(3).build()) {
      KvSequence a = cache.newSequence();
      cache.append(a, 6, seq(0, 12), 0, seq(0, 12), 0);
      KvSequence b = cache.fork(a);
      cache.append(b, 2, seq(50, 4), 0, seq(50, 4), 0); // copies the shared tail: 3 blocks used
      State before = State.of(cache, a, b);
      assertThrows(KvCacheFullException.class, () -> cache.append(a, 3, seq(0, 6), 0, seq(0, 6), 0));
      assertEquals(before, State.of(cache, a, b));
      KvSequence c = cache.fork(b);
      State forked = State.of(cache, a, b);
      // b's tail block is now shared with c; an append to b needs a copy and there is no block.
      KvCacheFullException e = assertThrows(KvCacheFullException.class,
          () -> cache.append(b, seq(0, 2), 0, seq(0, 2), 0));
      assertEquals("cannot append 1 token to sequence " + b.id() + ": that needs 1 free block of 4 tokens,"
          + " the cache has 0 free of 3 blocks", e.getMessage());
      assertEquals(forked, State.of(cache, a, b));
      assertEquals(8, c.length());
    }
  }

  /** Everything observable about two sequences and the cache's accounting. */
  private record State(int used, long waste, int aLength, String aBlocks, String aKeys, int bLength,
      String bBlocks, String bKeys) {
    static State of(PagedKvCache cache, KvSequence a, KvSequence b) {
      return new State(cache.usedBlocks(), cache.wasteBytes(), a.length(), Arrays.toString(a.blockTable()),
          Arrays.toString(dequantised(a, true)), b.length(), Arrays.toString(b.blockTable()),
          Arrays.toString(dequantised(b, true)));
    }
  }

  @Test
  void misuseIsNamed() {
    PagedKvCache cache = PagedKvCache.builder(1, 2).capacityBlocks(2).build();
    PagedKvCache other = PagedKvCache.builder(1, 2).capacityBlocks(2).build();
    KvSequence s = cache.newSequence();
    KvSequence foreign = other.newSequence();
    assertTrue(assertThrows(IllegalArgumentException.class, () -> cache.append(foreign, new float[2], 0, new float[2], 0))
        .getMessage().contains("another cache"));
    assertThrows(IllegalArgumentException.class, () -> cache.append(s, new float[1], 0, new float[2], 0));
    assertThrows(IllegalArgumentException.class, () -> cache.append(s, -1, new float[2], 0, new float[2], 0));
    assertThrows(NullPointerException.class, () -> cache.append(null, new float[2], 0, new float[2], 0));
    KvSequence survivor = cache.newSequence();
    cache.free(s);
    String freed = "sequence " + s.id() + " has been freed";
    assertEquals(freed, assertThrows(IllegalStateException.class, () -> cache.fork(s)).getMessage());
    assertEquals(freed, assertThrows(IllegalStateException.class, () -> cache.free(s)).getMessage());
    assertEquals(freed, assertThrows(IllegalStateException.class,
        () -> cache.append(s, new float[2], 0, new float[2], 0)).getMessage());
    assertEquals(freed, assertThrows(IllegalStateException.class, () -> cache.truncate(s, 0)).getMessage());
    assertEquals(freed, assertThrows(IllegalStateException.class, () -> cache.sequenceBytes(s)).getMessage());
    assertEquals(freed, assertThrows(IllegalStateException.class, () -> cache.decodeBytesRead(s)).getMessage());
    assertEquals(freed, assertThrows(IllegalStateException.class, s::blockCount).getMessage());
    assertEquals(freed, assertThrows(IllegalStateException.class, s::blockTable).getMessage());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> other.free(survivor))
        .getMessage().contains("another cache"), "a foreign sequence stays an argument error");
    cache.close();
    other.close();
    assertThrows(IllegalStateException.class, cache::newSequence);
    assertTrue(foreign.isFreed(), "close kills every sequence");
    String closed = "sequence " + survivor.id() + " belongs to a closed cache";
    assertEquals(closed, assertThrows(IllegalStateException.class, () -> cache.fork(survivor)).getMessage());
    assertEquals(closed, assertThrows(IllegalStateException.class,
        () -> cache.append(survivor, new float[2], 0, new float[2], 0)).getMessage());
    assertEquals(closed, assertThrows(IllegalStateException.class, survivor::blockTable).getMessage());
  }

  @Test
  void aClosedCacheHoldsNothing() {
    PagedKvCache cache = PagedKvCache.builder(1, 2).blockTokens(4).capacityBlocks(4).build();
    KvSequence s = cache.newSequence();
    cache.append(s, 6, seq(0, 12), 0, seq(0, 12), 0);
    cache.fork(s);
    assertEquals(2, cache.usedBlocks());
    assertEquals(2, cache.referenceCount(0));
    cache.close();
    cache.close(); // a second close does nothing
    assertEquals(0, cache.usedBlocks());
    assertEquals(0, cache.freeBlocks(), "no memory is left to hand out");
    assertEquals(0, cache.usedBytes());
    assertEquals(0, cache.wasteBytes(), "no block held, so none half empty");
    assertEquals(0, cache.reservedBytes());
    assertEquals(0, cache.referenceCount(0));
    assertEquals(0, cache.referenceCount(1));
    assertTrue(cache.sequences().isEmpty());
    assertEquals(4, cache.capacityBlocks(), "what the cache was built with stays");
    assertTrue(cache.toString().endsWith("closed]"), cache.toString());
  }

  @Test
  void referenceCountNamesABlockOutOfRange() {
    try (PagedKvCache cache = PagedKvCache.builder(1, 2).capacityBlocks(4).build()) {
      assertEquals("block must be in [0, 4), got -1",
          assertThrows(IndexOutOfBoundsException.class, () -> cache.referenceCount(-1)).getMessage());
      assertEquals("block must be in [0, 4), got 4",
          assertThrows(IndexOutOfBoundsException.class, () -> cache.referenceCount(4)).getMessage());
    }
  }

  @Test
  void blockAccessorsCheckTheIndex() {
    try (PagedKvCache cache = PagedKvCache.builder(1, 2).blockTokens(4).capacityBlocks(4).build()) {
      KvSequence s = cache.newSequence();
      cache.append(s, 6, seq(0, 12), 0, seq(0, 12), 0);
      int id = s.id();
      assertEquals("block 2 is out of range [0, 2) of sequence " + id,
          assertThrows(IndexOutOfBoundsException.class, () -> s.keyBlock(2)).getMessage());
      assertEquals("block -1 is out of range [0, 2) of sequence " + id,
          assertThrows(IndexOutOfBoundsException.class, () -> s.valueBlock(-1)).getMessage());
      cache.truncate(s, 3);
      // Block 1 went back to the free list; its number is still in the table's spare room.
      assertEquals("block 1 is out of range [0, 1) of sequence " + id,
          assertThrows(IndexOutOfBoundsException.class, () -> s.keyBlock(1)).getMessage());
      assertThrows(IndexOutOfBoundsException.class, () -> s.valueBlock(1));
      cache.free(s);
      assertEquals("sequence " + id + " has been freed",
          assertThrows(IllegalStateException.class, () -> s.keyBlock(0)).getMessage());
    }
  }

  @Test
  void kernelsRefuseDeadSequences() {
    AttentionShape shape = AttentionShape.mqa(2, 4);
    float[] q = new float[shape.queryStride()];
    float[] out = new float[q.length];
    PagedKvCache cache = PagedKvCache.builder(1, 4).capacityBlocks(2).build();
    KvSequence freed = cache.newSequence();
    KvSequence closed = cache.newSequence();
    cache.append(freed, new float[4], 0, new float[4], 0);
    cache.append(closed, new float[4], 0, new float[4], 0);
    cache.free(freed);
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> SCALAR.decode(shape, AttentionOptions.defaults(), q, 0, freed, out, 0));
    assertEquals("kv: sequence " + freed.id() + " has been freed", e.getMessage());
    assertSame(cache, freed.cache());
    cache.close();
    e = assertThrows(IllegalStateException.class, () -> SCALAR.prefill(shape, AttentionOptions.defaults(), 1,
        MemorySegment.ofArray(q), closed, MemorySegment.ofArray(out)));
    assertEquals("kv: sequence " + closed.id() + " belongs to a closed cache", e.getMessage());
    // Freed before the cache closed: freed is still the reason.
    e = assertThrows(IllegalStateException.class,
        () -> SCALAR.decode(shape, AttentionOptions.defaults(), q, 0, freed, out, 0));
    assertEquals("kv: sequence " + freed.id() + " has been freed", e.getMessage());
    assertEquals("sequence " + freed.id() + " has been freed",
        assertThrows(IllegalStateException.class, freed::blockTable).getMessage());
  }

  @Test
  void chunkedPrefillOverTheCacheEqualsOneFullPrefill() {
    AttentionShape shape = AttentionShape.gqa(4, 2, 16);
    Random random = new Random(3);
    int n = 70;
    float[] q = values(random, n * shape.queryStride());
    float[] k = values(random, n * shape.kvStride());
    float[] v = values(random, n * shape.kvStride());
    AttentionOptions causal = AttentionOptions.defaults().withCausal(true);
    float[] full = new float[q.length];
    SCALAR.prefill(shape, causal, n, n, q, 0, k, 0, v, 0, full, 0);
    try (PagedKvCache cache = PagedKvCache.builder(2, 16).blockTokens(8).capacityTokens(n).build()) {
      KvSequence seq = cache.newSequence();
      int done = 0;
      for (int chunk : new int[] {30, 25, 15}) {
        cache.append(seq, chunk, k, done * shape.kvStride(), v, done * shape.kvStride());
        float[] out = new float[chunk * shape.queryStride()];
        MemorySegment qChunk = MemorySegment.ofArray(q).asSlice((long) done * shape.queryStride() * 4,
            (long) chunk * shape.queryStride() * 4);
        SCALAR.prefill(shape, causal, chunk, qChunk, seq, MemorySegment.ofArray(out));
        assertArrayEquals(Arrays.copyOfRange(full, done * shape.queryStride(), (done + chunk) * shape.queryStride()),
            out, "chunk at " + done);
        done += chunk;
      }
    }
  }

  @Property(tries = 30)
  void batchedDecodeEqualsOneSequenceAtATime(@ForAll @IntRange(min = 1, max = 6) int sequences,
      @ForAll @IntRange(min = 0, max = 127) int optionBits, @ForAll long seed) {
    AttentionShape shape = AttentionShape.gqa(4, 1, 32);
    Random random = new Random(seed);
    try (PagedKvCache cache = PagedKvCache.builder(1, 32).type(KvType.BF16).blockTokens(16)
        .capacityBlocks(6 * 20).build()) {
      KvView[] views = new KvView[sequences];
      for (int s = 0; s < sequences; s++) {
        KvSequence seq = cache.newSequence();
        int n = random.nextInt(300);
        cache.append(seq, n, values(random, n * 32), 0, values(random, n * 32), 0);
        views[s] = seq;
      }
      AttentionOptions options = options(optionBits, 4, random, 100);
      float[] q = values(random, sequences * shape.queryStride());
      float[] batch = new float[q.length];
      SCALAR.decodeBatch(shape, options, MemorySegment.ofArray(q), views, MemorySegment.ofArray(batch));
      for (int s = 0; s < sequences; s++) {
        float[] one = new float[shape.queryStride()];
        SCALAR.decode(shape, options, q, s * shape.queryStride(), views[s], one, 0);
        assertArrayEquals(one, Arrays.copyOfRange(batch, s * shape.queryStride(), (s + 1) * shape.queryStride()));
      }
    }
  }

  // blocksToAppend is what an append takes from the free list, exactly, after any mix of forks,
  // truncations, releases and frees; an append it says does not fit is refused and changes nothing.
  @Property(tries = 60)
  void blocksToAppendIsWhatTheAppendTakes(@ForAll long seed) {
    Random random = new Random(seed);
    try (PagedKvCache cache = PagedKvCache.builder(1, 4).blockTokens(1 + random.nextInt(5))
        .capacityBlocks(12).build()) {
      List<KvSequence> live = new ArrayList<>(List.of(cache.newSequence()));
      for (int step = 0; step < 80; step++) {
        KvSequence seq = live.get(random.nextInt(live.size()));
        switch (random.nextInt(6)) {
          case 0 -> live.add(cache.fork(seq));
          case 1 -> cache.truncate(seq, random.nextInt(seq.length() - seq.firstKey() + 1)
              + seq.firstKey());
          case 2 -> cache.releaseBefore(seq, random.nextInt(seq.length() + 1));
          case 3 -> {
            if (live.size() > 1) {
              cache.free(seq);
              live.remove(seq);
            }
          }
          default -> {
            int tokens = random.nextInt(7);
            int needed = cache.blocksToAppend(seq, tokens);
            int free = cache.freeBlocks();
            int length = seq.length();
            float[] kv = seq(step, tokens * 4);
            if (needed > free) {
              assertThrows(KvCacheFullException.class, () -> cache.append(seq, tokens, kv, 0, kv, 0));
              assertEquals(free, cache.freeBlocks());
              assertEquals(length, seq.length());
            } else {
              cache.append(seq, tokens, kv, 0, kv, 0);
              assertEquals(needed, free - cache.freeBlocks(), "blocks taken");
              assertEquals(length + tokens, seq.length());
            }
          }
        }
      }
    }
  }

  @Test
  void blocksToAppendRefusesWhatAppendRefuses() {
    try (PagedKvCache cache = PagedKvCache.builder(1, 4).blockTokens(4).capacityBlocks(2).build();
        PagedKvCache other = PagedKvCache.builder(1, 4).capacityBlocks(1).build()) {
      KvSequence seq = cache.newSequence();
      assertEquals(0, cache.blocksToAppend(seq, 0));
      assertEquals(3, cache.blocksToAppend(seq, 9)); // more than the cache holds: still counted
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> cache.blocksToAppend(seq, -1));
      assertEquals("tokens must be >= 0, got -1", e.getMessage());
      KvSequence foreign = other.newSequence();
      assertThrows(IllegalArgumentException.class, () -> cache.blocksToAppend(foreign, 1));
      cache.free(seq);
      assertThrows(IllegalStateException.class, () -> cache.blocksToAppend(seq, 1));
    }
  }

  // Appending from segments stores what appending from arrays stores, byte for byte, through a
  // fork's copy-on-write and across blocks, for every type.
  @ParameterizedTest
  @EnumSource(KvType.class)
  void anAppendFromSegmentsStoresWhatOneFromArraysStores(KvType type) {
    Random random = new Random(11);
    try (Arena arena = Arena.ofConfined();
        PagedKvCache fromArrays = PagedKvCache.builder(2, 64).type(type).blockTokens(3)
            .capacityBlocks(20).build();
        PagedKvCache fromSegments = PagedKvCache.builder(2, 64).type(type).blockTokens(3)
            .capacityBlocks(20).build()) {
      KvSequence a = fromArrays.newSequence();
      KvSequence b = fromSegments.newSequence();
      KvSequence aFork = null;
      KvSequence bFork = null;
      for (int step = 0; step < 6; step++) {
        int tokens = 1 + random.nextInt(4);
        float[] k = values(random, tokens * 128);
        float[] v = values(random, tokens * 128);
        MemorySegment ks = arena.allocate(4L * k.length);
        MemorySegment vs = arena.allocate(4L * v.length);
        MemorySegment.copy(k, 0, ks, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0, k.length);
        MemorySegment.copy(v, 0, vs, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v.length);
        fromArrays.append(a, tokens, k, 0, v, 0);
        fromSegments.append(b, tokens, ks, vs);
        if (step == 2) {
          aFork = fromArrays.fork(a);
          bFork = fromSegments.fork(b);
        }
      }
      assertEquals(a.length(), b.length());
      assertEquals(fromArrays.freeBlocks(), fromSegments.freeBlocks());
      for (KvSequence[] pair : new KvSequence[][] {{a, b}, {aFork, bFork}}) {
        for (int block = 0; block < pair[0].blockCount(); block++) {
          assertEquals(-1, pair[0].keyBlock(block).mismatch(pair[1].keyBlock(block)), "keys " + block);
          assertEquals(-1, pair[0].valueBlock(block).mismatch(pair[1].valueBlock(block)),
              "values " + block);
        }
      }
    }
  }

  @Test
  void anAppendFromBadSegmentsIsRefusedAndChangesNothing() throws Exception {
    try (PagedKvCache cache = PagedKvCache.builder(2, 4).blockTokens(2).capacityBlocks(2).build();
        Arena arena = Arena.ofShared()) {
      KvSequence seq = cache.newSequence();
      MemorySegment token = arena.allocate(32);
      cache.append(seq, 1, token, token);
      State before = State.of(cache, seq, seq);
      assertEquals("k holds 32 bytes but needs 64 (tokens 2 of 8 floats each)",
          assertThrows(IllegalArgumentException.class,
              () -> cache.append(seq, 2, token, arena.allocate(64))).getMessage());
      assertEquals("v holds 32 bytes but needs 64 (tokens 2 of 8 floats each)",
          assertThrows(IllegalArgumentException.class,
              () -> cache.append(seq, 2, arena.allocate(64), token)).getMessage());
      assertThrows(NullPointerException.class, () -> cache.append(seq, 1, null, token));
      assertEquals("tokens must be >= 0, got -1", assertThrows(IllegalArgumentException.class,
          () -> cache.append(seq, -1, token, token)).getMessage());
      Arena closed = Arena.ofConfined();
      MemorySegment gone = closed.allocate(32);
      closed.close();
      assertEquals("k belongs to a closed arena", assertThrows(IllegalStateException.class,
          () -> cache.append(seq, 1, gone, token)).getMessage());
      MemorySegment[] confined = new MemorySegment[1];
      Arena[] other = new Arena[1];
      Thread owner = new Thread(() -> {
        other[0] = Arena.ofConfined();
        confined[0] = other[0].allocate(32);
      });
      owner.start();
      owner.join();
      assertEquals("v belongs to a confined arena of another thread",
          assertThrows(IllegalStateException.class,
              () -> cache.append(seq, 1, token, confined[0])).getMessage());
      assertThrows(KvCacheFullException.class,
          () -> cache.append(seq, 4, arena.allocate(128), arena.allocate(128)));
      assertEquals(before, State.of(cache, seq, seq));
    }
  }

  private static float[] seq(int from, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) a[i] = from + i;
    return a;
  }

  @Test
  void aCloseRefusedWhileABlockIsInNativeIoLeavesTheCacheAsItWasAndCanBeRetried()
      throws Exception {
    PagedKvCache cache = PagedKvCache.builder(8, 128).blockTokens(64).capacityBlocks(2).build();
    KvSequence seq = cache.newSequence();
    float[] kv = values(new Random(7), 8 * 128);
    cache.append(seq, kv, 0, kv, 0);
    MemorySegment block = seq.keyBlock(0); // 256 KiB: more than a pipe holds
    try (BlockedWrite write = new BlockedWrite(block)) {
      assertThrows(IllegalStateException.class, cache::close);
      assertFalse(seq.isFreed());
      assertEquals(1, seq.length());
      assertEquals(1, cache.usedBlocks());
      assertEquals(kv[5], seq.keyBlock(0).getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 5));
      write.finish();
    }
    cache.close();
    assertTrue(seq.isFreed());
    assertFalse(block.scope().isAlive(), "the retried close must free the memory");
  }

  @Test
  void aCapacityTheHeapCannotTableFailsNamingTheCapacity() {
    // Six tables of 2^31 - 9 entries take at least 51 GB; on a smaller heap the first one fails.
    assumeTrue(Runtime.getRuntime().maxMemory() < 40L << 30, "needs a heap under 40 GiB");
    OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> PagedKvCache.builder(1, 1)
        .type(KvType.F16).blockTokens(1).capacityBlocks(Integer.MAX_VALUE - 8).build());
    assertTrue(e.getMessage().contains("capacityBlocks=" + (Integer.MAX_VALUE - 8)),
        e.getMessage());
    assertTrue(e.getMessage().contains("Java heap"), e.getMessage());
  }
}
