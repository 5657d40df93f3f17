package io.mqa4j.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvView;
import io.mqa4j.core.PagedKvCache;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Threads that share one SIMD kernel queue for it; a batch's plan (which sequences its workers
 * take, in what order) must be the batch's own even while another thread's batch is planned.
 */
class SimdBatchConcurrencyTest {

  @Test
  void batchesFromTwoThreadsAtOnceEachGetTheirOwnRows() throws Exception {
    AttentionKernel simd = AttentionKernels.simd(2);
    AttentionShape shape = AttentionShape.gqa(8, 2, 32);
    AttentionOptions options = AttentionOptions.defaults();
    int n = 6;
    try (PagedKvCache cache = PagedKvCache.builder(2, 32).blockTokens(16).capacityTokens(1 << 15).build()) {
      KvView[] even = new KvView[n]; // shared out among the workers whole
      KvView[] uneven = new KvView[n]; // a long sequence alone first, then the rest
      for (int i = 0; i < n; i++) {
        even[i] = sequence(cache, 200 + 10 * i, i);
        uneven[i] = sequence(cache, i == 0 ? 4000 : 100 + i, 50 + i);
      }
      float[] q = new float[n * shape.queryStride()];
      Random random = new Random(7);
      for (int i = 0; i < q.length; i++) {
        q[i] = random.nextFloat() - 0.5f;
      }
      float[] expectedEven = expected(simd, shape, options, q, even);
      float[] expectedUneven = expected(simd, shape, options, q, uneven);
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong wrongEven = new AtomicLong();
      AtomicLong wrongUneven = new AtomicLong();
      Thread a = caller(simd, shape, options, q, even, expectedEven, stop, wrongEven);
      Thread b = caller(simd, shape, options, q, uneven, expectedUneven, stop, wrongUneven);
      a.start();
      b.start();
      Thread.sleep(1500);
      stop.set(true);
      a.join(30_000);
      b.join(30_000);
      assertEquals(0, wrongEven.get() + wrongUneven.get(), "batches with rows not their own: "
          + wrongEven + " even, " + wrongUneven + " uneven");
    }
  }

  private static KvSequence sequence(PagedKvCache cache, int tokens, int seed) {
    Random random = new Random(seed);
    float[] kv = new float[tokens * 2 * 32];
    for (int i = 0; i < kv.length; i++) {
      kv[i] = random.nextFloat() - 0.5f;
    }
    KvSequence seq = cache.newSequence();
    cache.append(seq, tokens, kv, 0, kv, 0);
    return seq;
  }

  private static float[] expected(AttentionKernel simd, AttentionShape shape,
      AttentionOptions options, float[] q, KvView[] sequences) {
    float[] out = new float[q.length];
    int row = shape.queryStride();
    for (int i = 0; i < sequences.length; i++) {
      simd.decode(shape, options, q, i * row, sequences[i], out, i * row);
    }
    return out;
  }

  private static Thread caller(AttentionKernel simd, AttentionShape shape, AttentionOptions options,
      float[] q, KvView[] sequences, float[] expected, AtomicBoolean stop, AtomicLong wrong) {
    return new Thread(() -> {
      float[] out = new float[q.length];
      while (!stop.get()) {
        Arrays.fill(out, Float.NaN);
        simd.decodeBatch(shape, options, q, 0, sequences, out, 0);
        for (int i = 0; i < out.length; i++) {
          if (!(Math.abs(out[i] - expected[i]) <= 1e-4)) { // NaN: a row left unwritten
            wrong.incrementAndGet();
            break;
          }
        }
      }
    });
  }
}
