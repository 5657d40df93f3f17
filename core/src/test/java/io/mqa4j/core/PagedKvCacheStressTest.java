package io.mqa4j.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Several threads append, fork, truncate, release the front of (as a sliding window does) and
 * free their own sequences at random against a small cache that often runs full; a shadow model
 * of each sequence's tokens checks nothing is lost, and the block bookkeeping must balance at the
 * end.
 */
class PagedKvCacheStressTest {

  private static final int THREADS = 4;
  private static final int OPERATIONS = 3000;

  @Test
  void blocksBalanceAndNoTokenIsLost() throws Exception {
    PagedKvCache cache = PagedKvCache.builder(1, 2).blockTokens(4).capacityBlocks(64).build();
    java.lang.foreign.MemorySegment lent;
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    try {
      List<Future<Map<KvSequence, List<Float>>>> results = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int worker = t;
        results.add(pool.submit(() -> work(cache, worker)));
      }
      Map<KvSequence, List<Float>> survivors = new HashMap<>();
      for (Future<Map<KvSequence, List<Float>>> f : results) {
        survivors.putAll(f.get());
      }

      // Every survivor holds exactly its shadow's tokens.
      for (Map.Entry<KvSequence, List<Float>> e : survivors.entrySet()) {
        float[] expected = new float[e.getValue().size() * 2];
        for (int i = 0; i < e.getValue().size(); i++) {
          float token = e.getValue().get(i);
          if (!Float.isNaN(token)) { // NaN marks a released token, which reads as 0
            expected[2 * i] = token;
            expected[2 * i + 1] = -token;
          }
        }
        assertArrayEquals(expected, PagedKvCacheTest.dequantised(e.getKey(), true), e.getKey().toString());
      }
      // Reference counts equal the number of block-table entries that name each block, and every
      // block is either free or held.
      int[] owners = new int[cache.capacityBlocks()];
      for (KvSequence s : cache.sequences()) {
        for (int b : s.blockTable()) owners[b]++;
      }
      int held = 0;
      for (int b = 0; b < owners.length; b++) {
        assertEquals(owners[b], cache.referenceCount(b), "block " + b);
        if (owners[b] > 0) held++;
      }
      assertEquals(survivors.size(), cache.sequences().size());
      assertEquals(held, cache.usedBlocks());
      assertEquals(cache.capacityBlocks(), cache.usedBlocks() + cache.freeBlocks());
      for (KvSequence s : survivors.keySet()) cache.free(s);
      KvSequence last = cache.newSequence();
      cache.append(last, new float[2], 0, new float[2], 0);
      lent = last.keyBlock(0); // a view of the cache's memory, to see it freed by close
      cache.free(last);
      assertEquals(cache.capacityBlocks(), cache.freeBlocks(), "every block back on the free list");
      assertEquals(0, cache.usedBytes());
    } finally {
      pool.shutdown();
      cache.close();
    }
    assertThrows(IllegalStateException.class, cache::newSequence);
    // close() gives the memory back: the arena behind every block is gone.
    assertFalse(lent.scope().isAlive(), "the blocks' memory is freed");
    assertThrows(IllegalStateException.class, () -> lent.get(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0));
    assertEquals(0, cache.reservedBytes());
  }

  private static Map<KvSequence, List<Float>> work(PagedKvCache cache, int worker) {
    Random random = new Random(worker);
    Map<KvSequence, List<Float>> mine = new HashMap<>();
    List<KvSequence> order = new ArrayList<>();
    float next = worker * 1_000_000f;
    for (int op = 0; op < OPERATIONS; op++) {
      int choice = random.nextInt(10);
      if (order.isEmpty() || choice == 0) {
        KvSequence s = cache.newSequence();
        mine.put(s, new ArrayList<>());
        order.add(s);
        continue;
      }
      KvSequence s = order.get(random.nextInt(order.size()));
      List<Float> shadow = mine.get(s);
      if (choice <= 5) {
        int n = 1 + random.nextInt(6);
        float[] k = new float[2 * n];
        for (int i = 0; i < n; i++) {
          k[2 * i] = next + i;
          k[2 * i + 1] = -(next + i);
        }
        try {
          cache.append(s, n, k, 0, k, 0);
          for (int i = 0; i < n; i++) shadow.add(next + i);
          next += n;
        } catch (KvCacheFullException full) {
          // the cache is left as it was; the shadow says so too
        }
      } else if (choice == 6) {
        KvSequence child = cache.fork(s);
        mine.put(child, new ArrayList<>(shadow));
        order.add(child);
      } else if (choice == 7) {
        int first = s.firstKey();
        int length = first + random.nextInt(shadow.size() - first + 1);
        cache.truncate(s, length);
        shadow.subList(length, shadow.size()).clear();
      } else if (choice == 8) {
        int token = random.nextInt(shadow.size() + 1);
        int was = s.firstKey();
        int first = Math.max(was, token / 4 * 4); // blocks of 4 tokens
        int released = cache.releaseBefore(s, token);
        if (s.firstKey() != first || released != (first - was) / 4) {
          throw new AssertionError(s + " released " + released + " blocks before " + token
              + " and starts at " + s.firstKey() + ", not " + first);
        }
        for (int i = 0; i < first; i++) shadow.set(i, Float.NaN);
      } else {
        cache.free(s);
        mine.remove(s);
        order.remove(s);
      }
      if (s.length() != mine.getOrDefault(s, List.of()).size() && !s.isFreed()) {
        throw new AssertionError("length of " + s + " disagrees with its shadow");
      }
    }
    return mine;
  }
}
