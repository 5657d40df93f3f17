package io.mqa4j.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvType;
import io.mqa4j.core.PagedKvCache;
import io.mqa4j.core.testkit.ForwardingKvView;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * How a batch shares its sequences among the threads, seen through the threads that read each
 * sequence's blocks: a sequence longer than a thread's share of what is left is split across
 * the threads.
 */
class SimdBatchSharingTest {

  @Test
  void aSequenceLongerThanAThreadsShareOfWhatIsLeftIsSplitToo() {
    AttentionKernel simd = AttentionKernels.simd(2);
    AttentionShape shape = AttentionShape.mqa(8, 64); // one KV head: a split is by keys
    // Two threads: 16384 is over half of all keys; then 4000 is over half of the 4048 left.
    int[] lengths = {16384, 4000, 16, 16, 16};
    try (PagedKvCache cache = PagedKvCache.builder(1, 64).type(KvType.F32).blockTokens(16)
        .capacityTokens(21_000).build()) {
      KvSequence[] seqs = new KvSequence[lengths.length];
      for (int s = 0; s < lengths.length; s++) {
        seqs[s] = sequence(cache, lengths[s], s);
      }
      float[] q = new float[lengths.length * shape.queryStride()];
      Random random = new Random(3);
      for (int i = 0; i < q.length; i++) {
        q[i] = random.nextFloat() - 0.5f;
      }
      float[] expected = new float[q.length];
      for (int s = 0; s < lengths.length; s++) {
        simd.decode(shape, AttentionOptions.defaults(), q, s * shape.queryStride(), seqs[s],
            expected, s * shape.queryStride());
      }
      // A sequence went whole to one thread when the worker read all its blocks or none; split,
      // the worker read some. A round's worker may find its share taken before it wakes (a busy
      // machine): rounds until both split.
      boolean[] split = new boolean[lengths.length];
      for (int round = 0; round < 500 && !(split[0] && split[1]); round++) {
        ReadBy[] views = new ReadBy[lengths.length];
        for (int s = 0; s < lengths.length; s++) {
          views[s] = new ReadBy(seqs[s]);
        }
        float[] out = new float[q.length];
        simd.decodeBatch(shape, AttentionOptions.defaults(), q, 0, views, out, 0);
        for (int i = 0; i < out.length; i++) {
          assertEquals(expected[i], out[i], 1e-5f, "round " + round + ", row float " + i);
        }
        for (int s = 0; s < lengths.length; s++) {
          int read = views[s].blocksReadByWorkers();
          split[s] |= read > 0 && read < Math.ceilDiv(lengths[s], 16);
        }
      }
      assertTrue(split[0], "16384 keys never split across the threads");
      assertTrue(split[1], "4000 keys never split across the threads");
    }
  }

  /**
   * Sequences too short to split stay shared, however uneven: alone, each would run on the
   * caller's thread while the workers wait. Under a pass that kept taking the longest of what was
   * left, every one of these did.
   */
  @Test
  void sequencesTooShortToSplitStayShared() {
    AttentionKernel simd = AttentionKernels.simd(2);
    AttentionShape shape = AttentionShape.mqa(8, 64);
    int[] lengths = {16384, 400, 200, 100, 50, 25, 12, 6, 3, 2};
    try (PagedKvCache cache = PagedKvCache.builder(1, 64).type(KvType.F32).blockTokens(16)
        .capacityTokens(18_000).build()) {
      KvSequence[] seqs = new KvSequence[lengths.length];
      for (int s = 0; s < lengths.length; s++) {
        seqs[s] = sequence(cache, lengths[s], s);
      }
      float[] q = new float[lengths.length * shape.queryStride()];
      Random random = new Random(4);
      for (int i = 0; i < q.length; i++) {
        q[i] = random.nextFloat() - 0.5f;
      }
      boolean shortReadByWorker = false;
      for (int round = 0; round < 500 && !shortReadByWorker; round++) {
        ReadBy[] views = new ReadBy[lengths.length];
        for (int s = 0; s < lengths.length; s++) {
          views[s] = new ReadBy(seqs[s]);
        }
        simd.decodeBatch(shape, AttentionOptions.defaults(), q, 0, views,
            new float[q.length], 0);
        for (int s = 1; s < lengths.length; s++) {
          shortReadByWorker |= views[s].blocksReadByWorkers() > 0;
        }
      }
      assertTrue(shortReadByWorker, "no sequence of 400 keys or fewer ever reached the worker");
    }
  }

  private static KvSequence sequence(PagedKvCache cache, int tokens, int seed) {
    Random random = new Random(seed);
    float[] kv = new float[tokens * 64];
    for (int i = 0; i < kv.length; i++) {
      kv[i] = random.nextFloat() - 0.5f;
    }
    KvSequence seq = cache.newSequence();
    cache.append(seq, tokens, kv, 0, kv, 0);
    return seq;
  }

  /** A sequence's view that notes the blocks threads other than the caller ask for. */
  private static final class ReadBy extends ForwardingKvView {
    final Thread caller = Thread.currentThread();
    final Set<Integer> byWorkers = ConcurrentHashMap.newKeySet();

    ReadBy(KvSequence seq) {
      super(seq);
    }

    int blocksReadByWorkers() {
      return byWorkers.size();
    }

    private void note(int block) {
      if (Thread.currentThread() != caller) {
        byWorkers.add(block);
      }
    }

    @Override
    public MemorySegment keyBlock(int block) {
      note(block);
      return super.keyBlock(block);
    }

    @Override
    public MemorySegment valueBlock(int block) {
      note(block);
      return super.valueBlock(block);
    }
  }
}
