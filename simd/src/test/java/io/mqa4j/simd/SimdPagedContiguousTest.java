package io.mqa4j.simd;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.ContiguousKvCache;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.PagedKvCache;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * f32 decode from a paged cache against the same keys in one contiguous block. The scalar kernel
 * is bit-identical (core's PagedKvCacheTest); the SIMD kernel's steps follow the blocks, so the
 * README bounds the difference instead: about 5e-8 of outputs in [-1, 1].
 */
class SimdPagedContiguousTest {

  @ParameterizedTest
  @CsvSource({"32, 32, 3", "32, 8, 16", "32, 1, 100", "8, 2, 1"})
  void pagedAndContiguousDifferByRoundingOnly(int queryHeads, int kvHeads, int blockTokens) {
    int headDim = 128;
    int keys = 3000;
    AttentionShape shape = AttentionShape.gqa(queryHeads, kvHeads, headDim);
    Random random = new Random(queryHeads * 31L + kvHeads * 7L + blockTokens);
    float[] k = new float[keys * kvHeads * headDim];
    float[] v = new float[k.length];
    for (int i = 0; i < k.length; i++) {
      k[i] = random.nextFloat() * 2 - 1;
      v[i] = random.nextFloat() * 2 - 1;
    }
    float[] q = new float[shape.queryStride()];
    for (int i = 0; i < q.length; i++) {
      q[i] = random.nextFloat() * 2 - 1;
    }
    AttentionOptions options = AttentionOptions.defaults();
    float[] contiguous = new float[q.length];
    float[] paged = new float[q.length];
    for (int threads : new int[] {1, 2}) {
      AttentionKernel simd = AttentionKernels.simd(threads);
      try (ContiguousKvCache one = new ContiguousKvCache(kvHeads, headDim, keys);
          PagedKvCache cache = PagedKvCache.builder(kvHeads, headDim).blockTokens(blockTokens)
              .capacityTokens(keys + blockTokens).build()) {
        one.append(keys, k, 0, v, 0);
        KvSequence seq = cache.newSequence();
        cache.append(seq, keys, k, 0, v, 0);
        simd.decode(shape, options, q, 0, one, contiguous, 0);
        simd.decode(shape, options, q, 0, seq, paged, 0);
      }
      double worst = 0;
      for (int i = 0; i < q.length; i++) {
        worst = Math.max(worst, Math.abs(contiguous[i] - paged[i]));
      }
      assertTrue(worst <= 1e-7, "paged against contiguous differ by " + worst + " with " + threads
          + " threads, blocks of " + blockTokens);
    }
  }
}
