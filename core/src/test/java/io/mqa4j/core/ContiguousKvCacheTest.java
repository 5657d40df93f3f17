package io.mqa4j.core;

import java.lang.foreign.MemorySegment;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class ContiguousKvCacheTest {

  @Test
  void saysWhatItHolds() {
    ContiguousKvCache cache = new ContiguousKvCache(2, 4, 8);
    cache.append(new float[8], 0, new float[8], 0);
    assertEquals("ContiguousKvCache[f32, 2x4, 1/8 tokens]", cache.toString());
    cache.close();
    assertEquals("ContiguousKvCache[f32, 2x4, closed]", cache.toString());
  }

  @Test
  void memoryTheMachineCannotGiveFailsNamingTheCapacity() {
    // 2^52 bytes each for K and V: no machine gives that, and the failure must say what was asked.
    OutOfMemoryError e = assertThrows(OutOfMemoryError.class,
        () -> new ContiguousKvCache(1 << 20, 1 << 10, 1 << 20));
    assertTrue(e.getMessage().contains("capacityTokens=1048576"), e.getMessage());
    assertTrue(e.getMessage().contains("4503599627370496 bytes"), e.getMessage());
  }

  @Test
  void appendsFromSegmentsAsFromArraysAndRefusesBadOnesChangingNothing() {
    try (ContiguousKvCache cache = new ContiguousKvCache(2, 3, 4);
        java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
      float[] k = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
      float[] v = {-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12};
      MemorySegment ks = arena.allocateFrom(ValueLayout.JAVA_FLOAT, k);
      MemorySegment vs = arena.allocateFrom(ValueLayout.JAVA_FLOAT, v);
      cache.append(2, ks, vs);
      assertEquals(2, cache.length());
      for (int i = 0; i < 12; i++) {
        assertEquals(k[i], cache.keyBlock(0).getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i));
        assertEquals(v[i], cache.valueBlock(0).getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i));
      }
      assertEquals("v holds 48 bytes but needs 72 (tokens 3 of 6 floats each)",
          assertThrows(IllegalArgumentException.class,
              () -> cache.append(3, arena.allocate(72), vs)).getMessage());
      assertThrows(KvCacheFullException.class, () -> cache.append(3, arena.allocate(72),
          arena.allocate(72)));
      assertEquals(2, cache.length());
    }
  }

  @Test
  void appendsTokensWhereTheViewSaysTheyAre() {
    try (ContiguousKvCache cache = new ContiguousKvCache(2, 3, 5)) {
      cache.append(new float[] {1, 2, 3, 4, 5, 6}, 0, new float[] {-1, -2, -3, -4, -5, -6}, 0);
      float[] two = new float[12];
      for (int i = 0; i < 12; i++) two[i] = 10 + i;
      cache.append(2, two, 0, two, 0);
      assertEquals(3, cache.length());
      assertEquals(5, cache.capacity());
      assertEquals(5 * 2 * 3 * 4 * 2, cache.reservedBytes());
      assertEquals(24, cache.tokenBytes());
      assertEquals(4f, cache.keyBlock(0).getAtIndex(ValueLayout.JAVA_FLOAT, 3));
      assertEquals(-6f, cache.valueBlock(0).getAtIndex(ValueLayout.JAVA_FLOAT, 5));
      assertEquals(21f, cache.keyBlock(0).getAtIndex(ValueLayout.JAVA_FLOAT, 17), "token 2, head 1, element 2");
    }
  }

  @Test
  void aFullCacheRefusesAndStaysAsItWas() {
    try (ContiguousKvCache cache = new ContiguousKvCache(1, 2, 3)) {
      cache.append(2, new float[] {1, 2, 3, 4}, 0, new float[] {5, 6, 7, 8}, 0);
      KvCacheFullException e = assertThrows(KvCacheFullException.class,
          () -> cache.append(2, new float[] {9, 9, 9, 9}, 0, new float[] {9, 9, 9, 9}, 0));
      assertEquals("cannot append 2 tokens: 2 of 3 tokens in use", e.getMessage());
      assertEquals(2, cache.length());
      assertEquals(0f, cache.keyBlock(0).getAtIndex(ValueLayout.JAVA_FLOAT, 4), "nothing written");
      cache.append(new float[] {9, 9}, 0, new float[] {9, 9}, 0);
      assertEquals(3, cache.length());
      assertEquals("cannot append 1 token: 3 of 3 tokens in use", assertThrows(KvCacheFullException.class,
          () -> cache.append(new float[] {9, 9}, 0, new float[] {9, 9}, 0)).getMessage());
    }
  }

  @Test
  void aClosedCacheRefusesEveryUseAndClosesOnce() {
    ContiguousKvCache cache = new ContiguousKvCache(1, 2, 3);
    cache.append(new float[] {1, 2}, 0, new float[] {3, 4}, 0);
    cache.close();
    cache.close(); // a second close does nothing
    assertEquals(0, cache.reservedBytes(), "the memory is gone");
    String closed = "the KV cache is closed";
    assertEquals(closed, assertThrows(IllegalStateException.class,
        () -> cache.append(new float[] {1, 2}, 0, new float[] {3, 4}, 0)).getMessage());
    assertEquals(closed, assertThrows(IllegalStateException.class, () -> cache.truncate(0)).getMessage());
    assertEquals(closed, assertThrows(IllegalStateException.class, () -> cache.keyBlock(0)).getMessage());
    assertEquals(closed, assertThrows(IllegalStateException.class, () -> cache.valueBlock(0)).getMessage());
    AttentionShape shape = new AttentionShape(1, 1, 2);
    assertEquals("kv: " + closed, assertThrows(IllegalStateException.class, () -> AttentionKernels.scalar()
        .decode(shape, AttentionOptions.defaults(), new float[2], 0, cache, new float[2], 0))
        .getMessage(), "a kernel given a closed cache");
  }

  @Test
  void anAppendTooLargeForAnyArrayNamesTheArray() {
    try (ContiguousKvCache cache = new ContiguousKvCache(1 << 20, 1, 1)) {
      // 4096 tokens of 2^20 floats each is 2^32 floats: past an int, so no array can hold them.
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> cache.append(4096, new float[4], 0, new float[4], 0));
      assertEquals("k has length 4, too short for 4294967296 floats from kOffset 0 (tokens 4096 "
          + "of 1048576 floats each)", e.getMessage());
      assertEquals(0, cache.length());
    }
  }

  @Test
  void truncateRollsBack() {
    try (ContiguousKvCache cache = new ContiguousKvCache(1, 1, 4)) {
      cache.append(3, new float[] {1, 2, 3}, 0, new float[] {1, 2, 3}, 0);
      cache.truncate(1);
      assertEquals(1, cache.length());
      cache.append(new float[] {7}, 0, new float[] {7}, 0);
      assertEquals(7f, cache.keyBlock(0).getAtIndex(ValueLayout.JAVA_FLOAT, 1));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cache.truncate(3));
      assertEquals("newLength must be in [0, 2], got 3", e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> cache.truncate(-1));
    }
  }

  @Test
  void badArgumentsAreNamed() {
    assertEquals("kvHeads must be positive, got 0",
        assertThrows(IllegalArgumentException.class, () -> new ContiguousKvCache(0, 8, 8)).getMessage());
    assertEquals("headDim must be positive, got -1",
        assertThrows(IllegalArgumentException.class, () -> new ContiguousKvCache(1, -1, 8)).getMessage());
    assertEquals("capacityTokens must be positive, got 0",
        assertThrows(IllegalArgumentException.class, () -> new ContiguousKvCache(1, 8, 0)).getMessage());
    // Sizes whose products overflow; each would otherwise wrap round to a bogus allocation size.
    assertEquals("kvHeads * headDim must fit in an int, got kvHeads=65536 * headDim=65536 = 4294967296",
        assertThrows(IllegalArgumentException.class,
            () -> new ContiguousKvCache(65536, 65536, Integer.MAX_VALUE)).getMessage());
    assertEquals("capacityTokens * kvHeads * headDim * 4 bytes overflows a long: capacityTokens=2147483647,"
        + " kvHeads=1, headDim=2147483647", assertThrows(IllegalArgumentException.class,
            () -> new ContiguousKvCache(1, Integer.MAX_VALUE, Integer.MAX_VALUE)).getMessage());
    try (ContiguousKvCache cache = new ContiguousKvCache(2, 4, 8)) {
      assertThrows(IllegalArgumentException.class, () -> cache.append(new float[7], 0, new float[8], 0));
      assertThrows(IllegalArgumentException.class, () -> cache.append(-1, new float[8], 0, new float[8], 0));
      assertThrows(NullPointerException.class, () -> cache.append(null, 0, new float[8], 0));
      assertEquals(0, cache.length(), "failed appends leave nothing behind");
    }
  }

  @Test
  void theOnlyBlockIsBlockZero() {
    String message = "is out of range [0, 1): a contiguous cache is one block";
    try (ContiguousKvCache cache = new ContiguousKvCache(1, 4, 4)) {
      cache.append(new float[4], 0, new float[4], 0);
      assertEquals(cache.keyBlock(0).byteSize(), cache.valueBlock(0).byteSize());
      assertEquals("block 1 " + message,
          assertThrows(IndexOutOfBoundsException.class, () -> cache.keyBlock(1)).getMessage());
      assertEquals("block -1 " + message,
          assertThrows(IndexOutOfBoundsException.class, () -> cache.valueBlock(-1)).getMessage());
    }
    KvView view = KvView.ofContiguous(1, 4, 0, java.lang.foreign.MemorySegment.NULL,
        java.lang.foreign.MemorySegment.NULL);
    assertEquals(0, view.keyBlock(0).byteSize(), "an empty view still has its block");
    assertEquals("block 3 is out of range [0, 1): a contiguous view is one block",
        assertThrows(IndexOutOfBoundsException.class, () -> view.keyBlock(3)).getMessage());
    assertThrows(IndexOutOfBoundsException.class, () -> view.valueBlock(1));
  }

  @Test
  void closeFreesTheMemory() {
    ContiguousKvCache cache = new ContiguousKvCache(1, 4, 4);
    cache.close();
    assertThrows(IllegalStateException.class, () -> cache.keyBlock(0).get(ValueLayout.JAVA_FLOAT, 0));
  }

  @Test
  void aCloseRefusedWhileTheKeysAreInNativeIoLeavesTheCacheOpenAndCanBeRetried()
      throws Exception {
    ContiguousKvCache cache = new ContiguousKvCache(8, 128, 64); // 256 KiB of keys
    cache.append(new float[8 * 128], 0, new float[8 * 128], 0);
    MemorySegment keys = cache.keyBlock(0);
    try (BlockedWrite write = new BlockedWrite(keys)) {
      assertThrows(IllegalStateException.class, cache::close);
      assertFalse(cache.isClosed());
      assertEquals(1, cache.length());
      write.finish();
    }
    cache.close();
    assertTrue(cache.isClosed());
    assertFalse(keys.scope().isAlive(), "the retried close must free the memory");
  }

  @Test
  void aClosedCacheReadsEmptyAndRefusesWritesAndBlocks() {
    ContiguousKvCache cache = new ContiguousKvCache(1, 2, 4);
    cache.append(new float[] {1, 2}, 0, new float[] {3, 4}, 0);
    cache.close();
    assertEquals(0, cache.length());
    assertEquals(0, cache.reservedBytes());
    assertEquals(4, cache.capacity());
    assertThrows(IllegalStateException.class, () -> cache.keyBlock(0));
    assertThrows(IllegalStateException.class, () -> cache.truncate(0));
    assertThrows(IllegalStateException.class,
        () -> cache.append(new float[] {1, 2}, 0, new float[] {3, 4}, 0));
  }
}
