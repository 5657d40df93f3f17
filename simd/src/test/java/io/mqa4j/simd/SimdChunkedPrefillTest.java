package io.mqa4j.simd;

import static io.mqa4j.core.testkit.KernelChecks.assertClose;
import static io.mqa4j.core.testkit.KernelChecks.options;
import static io.mqa4j.core.testkit.KernelChecks.tolerance;
import static io.mqa4j.core.testkit.KernelChecks.values;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvType;
import io.mqa4j.core.PagedKvCache;
import io.mqa4j.core.testkit.KvContents;
import io.mqa4j.core.testkit.Oracle;
import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Chunked prefill on the SIMD kernel: a prompt appended to a paged cache a chunk at a time, each
 * chunk's queries attending over everything cached so far. Each chunk agrees with the float64
 * oracle over the cached prefix and with the scalar kernel at the same moment, and, with a causal
 * mask, a chunk's rows are the rows one prefill over the whole prompt gives.
 */
class SimdChunkedPrefillTest {

  @Property(tries = 40)
  void everyChunkAgreesWithTheOracleOverTheCachedPrefix(
      @ForAll @IntRange(min = 0, max = 3) int typeIndex,
      @ForAll @IntRange(min = 0, max = 4) int log2Heads,
      @ForAll @IntRange(min = 0, max = 4) int log2Group,
      @ForAll @IntRange(min = 1, max = 4) int headDimUnits,
      @ForAll @IntRange(min = 1, max = 300) int promptTokens,
      @ForAll @IntRange(min = 1, max = 5) int chunks,
      @ForAll @IntRange(min = 1, max = 40) int blockTokens,
      @ForAll @IntRange(min = 0, max = 127) int optionBits,
      @ForAll @IntRange(min = 1, max = 3) int threads,
      @ForAll long seed) {
    KvType type = KvType.values()[typeIndex];
    int queryHeads = 1 << log2Heads;
    int kvHeads = Math.max(1, queryHeads >> log2Group);
    int headDim = type == KvType.Q8_0 ? 32 * headDimUnits : 23 * headDimUnits + typeIndex;
    AttentionShape shape = new AttentionShape(queryHeads, kvHeads, headDim);
    Random random = new Random(seed);
    int n = promptTokens;
    AttentionOptions options = options(optionBits, queryHeads, random, n);
    float[] q = values(random, n * shape.queryStride());
    float[] k = values(random, n * shape.kvStride());
    float[] v = values(random, n * shape.kvStride());
    int[] sizes = split(n, chunks, random);
    String context = type + " " + shape + " " + options + " chunks=" + Arrays.toString(sizes)
        + " block=" + blockTokens + " threads=" + threads;
    AttentionKernel simd = AttentionKernels.simd(threads);
    try (PagedKvCache cache = PagedKvCache.builder(kvHeads, headDim).type(type)
        .blockTokens(blockTokens).capacityTokens(n).build()) {
      KvSequence seq = cache.newSequence();
      int done = 0;
      for (int chunk : sizes) {
        cache.append(seq, chunk, k, done * shape.kvStride(), v, done * shape.kvStride());
        float[] qChunk = Arrays.copyOfRange(q, done * shape.queryStride(),
            (done + chunk) * shape.queryStride());
        float[] out = new float[qChunk.length];
        float[] scalar = new float[qChunk.length];
        simd.prefill(shape, options, chunk, q, done * shape.queryStride(), seq, out, 0);
        AttentionKernels.scalar().prefill(shape, options, chunk, qChunk, 0, seq, scalar, 0);
        double[] expected = Oracle.attend(shape, options, chunk, done + chunk, qChunk,
            KvContents.dequantised(seq, true), KvContents.dequantised(seq, false));
        double tol = tolerance(headDim, done + chunk, options);
        for (int i = 0; i < out.length; i++) {
          assertClose(expected[i], out[i], tol, "chunk at " + done + " vs oracle", i, context);
          assertClose(scalar[i], out[i], tol, "chunk at " + done + " vs scalar", i, context);
        }
        done += chunk;
      }
    }
  }

  /**
   * With a causal mask a chunk's rows are the rows one prefill over the whole prompt, in a cache
   * of the same blocks, gives: the chunk's queries see the same keys in the same blocks. They may
   * differ in the last bits only, as the JIT's exponential does between a method's first runs
   * and later ones (README: about 5e-7 at the default scale).
   */
  @Test
  void causalChunksGiveTheWholePrefillsRows() {
    Random random = new Random(5);
    AttentionOptions causal = AttentionOptions.defaults().withCausal(true);
    for (int threads : new int[] {1, 2}) {
      AttentionKernel simd = AttentionKernels.simd(threads);
      for (AttentionShape shape : new AttentionShape[] {AttentionShape.mha(4, 64),
          AttentionShape.gqa(8, 2, 40), AttentionShape.mqa(8, 128)}) {
        int n = 200;
        float[] q = values(random, n * shape.queryStride());
        float[] k = values(random, n * shape.kvStride());
        float[] v = values(random, n * shape.kvStride());
        try (PagedKvCache cache = PagedKvCache.builder(shape.kvHeads(), shape.headDim())
            .blockTokens(16).capacityTokens(2 * n + 16).build()) {
          KvSequence all = cache.newSequence();
          cache.append(all, n, k, 0, v, 0);
          float[] whole = new float[q.length];
          simd.prefill(shape, causal, n, q, 0, all, whole, 0);
          KvSequence seq = cache.newSequence();
          int done = 0;
          for (int chunk : new int[] {64, 1, 63, 72}) {
            cache.append(seq, chunk, k, done * shape.kvStride(), v, done * shape.kvStride());
            float[] out = new float[chunk * shape.queryStride()];
            simd.prefill(shape, causal, chunk, q, done * shape.queryStride(), seq, out, 0);
            for (int i = 0; i < out.length; i++) {
              assertClose(whole[done * shape.queryStride() + i], out[i], 1e-6,
                  "chunk at " + done + " vs the whole prefill", i, shape + " threads=" + threads);
            }
            done += chunk;
          }
        }
      }
    }
  }

  /** {@code n} split into at most {@code parts} positive sizes at random cut points. */
  private static int[] split(int n, int parts, Random random) {
    int count = Math.min(parts, n);
    int[] cuts = random.ints(0, n).distinct().limit(count - 1L).filter(c -> c > 0).sorted().toArray();
    int[] sizes = new int[cuts.length + 1];
    int last = 0;
    for (int i = 0; i < cuts.length; i++) {
      sizes[i] = cuts[i] - last;
      last = cuts[i];
    }
    sizes[cuts.length] = n - last;
    return sizes;
  }
}
