package io.mqa4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * An append cut short by a stack overflow, at whatever depth it strikes, leaves the cache as it
 * was: the append either happened whole or not at all, and every block comes back once the
 * sequences are freed. The same holds for a free; a close cut short can be tried again.
 */
class PagedKvCacheOverflowTest {

  private static final int HEADS = 8;
  private static final int HEAD_DIM = 128;
  private static final int ROW = HEADS * HEAD_DIM;
  /** Depths from a shallow overflow to none, a frame at a time, on a 64 KiB stack. */
  private static final int DEPTHS = 3_000;

  @Test
  void anOverflowInACopyOnWriteAppendLeavesNoBlockBehind() throws InterruptedException {
    int cutShort = 0;
    try (PagedKvCache cache = PagedKvCache.builder(HEADS, HEAD_DIM).type(KvType.F16)
        .blockTokens(16).capacityBlocks(8).build()) {
      float[] ten = tokens(10, 0.5f);
      float[] three = tokens(3, 2f);
      for (int depth = 0; depth < DEPTHS; depth++) {
        KvSequence parent = cache.newSequence();
        cache.append(parent, 10, ten, 0, ten, 0);
        KvSequence child = cache.fork(parent); // shares the partly filled block
        boolean cut = appendAtDepth(depth, () -> cache.append(child, 3, three, 0, three, 0));
        if (child.length() == 10) { // not appended: the overflow struck before it or inside it
          cutShort += cut ? 1 : 0;
          assertEquals(1, cache.usedBlocks(), "depth " + depth + ": only the shared block");
          assertEquals(2, cache.referenceCount(child.blockTable()[0]), "depth " + depth);
        } else {
          assertEquals(13, child.length(), "depth " + depth);
          assertEquals(2, cache.usedBlocks(), "depth " + depth + ": the shared block and a copy");
        }
        cache.free(child);
        cache.free(parent);
        assertEquals(0, cache.usedBlocks(), "depth " + depth + ": a block left behind");
      }
    }
    assertTrue(cutShort > 0, "no overflow struck inside an append");
  }

  @Test
  void anOverflowInAnAppendIntoANewBlockTakesNoBlock() throws InterruptedException {
    int cutShort = 0;
    try (PagedKvCache cache = PagedKvCache.builder(HEADS, HEAD_DIM).type(KvType.F16)
        .blockTokens(16).capacityBlocks(8).build()) {
      float[] fourteen = tokens(14, 0.5f);
      float[] three = tokens(3, 2f);
      for (int depth = 0; depth < DEPTHS; depth++) {
        KvSequence seq = cache.newSequence();
        cache.append(seq, 14, fourteen, 0, fourteen, 0);
        boolean cut = appendAtDepth(depth, () -> cache.append(seq, 3, three, 0, three, 0));
        if (seq.length() == 14) {
          cutShort += cut ? 1 : 0;
          assertEquals(1, cache.usedBlocks(), "depth " + depth + ": 14 tokens hold one block");
          assertEquals(1, seq.blockTable().length, "depth " + depth);
        } else {
          assertEquals(17, seq.length(), "depth " + depth);
          assertEquals(2, cache.usedBlocks(), "depth " + depth);
        }
        cache.free(seq);
        assertEquals(0, cache.usedBlocks(), "depth " + depth + ": a block left behind");
      }
    }
    assertTrue(cutShort > 0, "no overflow struck inside an append");
  }

  @Test
  void anOverflowInAFreeLeavesEveryOtherSequenceListedAndFreeable() throws InterruptedException {
    int cutShort = 0;
    float[] one = tokens(1, 0.5f);
    for (int depth = 0; depth < DEPTHS; depth++) {
      try (PagedKvCache cache = PagedKvCache.builder(HEADS, HEAD_DIM).type(KvType.F16)
          .blockTokens(1).capacityBlocks(40).build()) {
        KvSequence[] all = new KvSequence[40];
        for (int i = 0; i < all.length; i++) {
          all[i] = cache.newSequence();
          cache.append(all[i], one, 0, one, 0);
        }
        KvSequence victim = all[depth % all.length];
        boolean cut = appendAtDepth(depth, () -> cache.free(victim));
        int left = victim.isFreed() ? 39 : 40; // freed whole or not at all
        cutShort += cut ? 1 : 0;
        assertEquals(left, cache.sequences().size(), "depth " + depth);
        assertEquals(left, cache.usedBlocks(), "depth " + depth);
        for (KvSequence s : all) {
          if (!s.isFreed()) {
            cache.free(s);
          }
        }
        assertEquals(List.of(), cache.sequences(), "depth " + depth + ": freed sequences still listed");
        assertEquals(0, cache.usedBlocks(), "depth " + depth + ": a block left behind");
      }
    }
    assertTrue(cutShort > 0, "no overflow struck inside a free");
  }

  @Test
  void aCloseCutShortByAnOverflowCanBeRetried() throws InterruptedException {
    int cutShort = 0;
    float[] one = tokens(1, 0.5f);
    for (int depth = 0; depth < DEPTHS; depth++) {
      PagedKvCache cache = PagedKvCache.builder(HEADS, HEAD_DIM).type(KvType.F16)
          .blockTokens(1).capacityBlocks(4).build();
      KvSequence seq = cache.newSequence();
      cache.append(seq, one, 0, one, 0);
      MemorySegment block = seq.keyBlock(0);
      cutShort += appendAtDepth(depth, cache::close) ? 1 : 0;
      cache.close(); // the retry finishes what the overflow cut short
      assertTrue(seq.isFreed(), "depth " + depth);
      assertEquals(0, cache.freeBlocks(), "depth " + depth);
      assertEquals(List.of(), cache.sequences(), "depth " + depth);
      assertEquals(0, cache.referenceCount(0), "depth " + depth + ": the accounting kept a count");
      assertFalse(block.scope().isAlive(), "depth " + depth);
      ContiguousKvCache contiguous = new ContiguousKvCache(HEADS, HEAD_DIM, 4);
      contiguous.append(one, 0, one, 0);
      cutShort += appendAtDepth(depth, contiguous::close) ? 1 : 0;
      contiguous.close();
      assertTrue(contiguous.isClosed(), "depth " + depth);
    }
    assertTrue(cutShort > 0, "no overflow struck inside a close");
  }

  /** K (or V) of {@code count} tokens, every element {@code value}. */
  private static float[] tokens(int count, float value) {
    float[] a = new float[count * ROW];
    Arrays.fill(a, value);
    return a;
  }

  /**
   * Runs {@code append} below {@code depth} frames on a small stack; true if the stack overflowed
   * after the append began.
   */
  private static boolean appendAtDepth(int depth, Runnable append) throws InterruptedException {
    boolean[] began = {false};
    boolean[] overflowed = {false};
    Thread thread = new Thread(null, () -> {
      try {
        descend(depth, began, append);
      } catch (StackOverflowError e) {
        overflowed[0] = began[0];
      }
    }, "append-at-depth", 64 * 1024);
    thread.start();
    thread.join();
    return overflowed[0];
  }

  private static void descend(int depth, boolean[] began, Runnable append) {
    if (depth > 0) {
      descend(depth - 1, began, append);
    } else {
      began[0] = true;
      append.run();
    }
  }
}
