package io.mqa4j.simd;

import static io.mqa4j.core.testkit.KernelChecks.assertClose;
import static io.mqa4j.core.testkit.KernelChecks.options;
import static io.mqa4j.core.testkit.KernelChecks.tolerance;
import static io.mqa4j.core.testkit.KernelChecks.values;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.testkit.Oracle;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The SIMD kernel against the scalar reference and the float64 oracle over random shapes,
 * options, input kinds and thread counts. Run at 128, 256 and 512-bit widths by the build.
 */
class SimdKernelPropertiesTest {

  /** Multiply-adds the oracle may spend on one try, so the suite stays fast. */
  private static final long ORACLE_BUDGET = 6_000_000;

  @Property(tries = 150)
  void simdMatchesScalarAndOracle(
      @ForAll @IntRange(min = 1, max = 64) int queryHeads,
      @ForAll @IntRange(min = 0, max = 1000) int kvChoice,
      @ForAll @IntRange(min = 1, max = 300) int headDim,
      @ForAll @IntRange(min = 0, max = 3000) int numKeys,
      @ForAll @IntRange(min = 1, max = 300) int numQueries,
      @ForAll @IntRange(min = 0, max = 127) int optionBits,
      @ForAll @IntRange(min = 1, max = 3) int threads,
      @ForAll long seed) {
    int[] divisors = java.util.stream.IntStream.rangeClosed(1, queryHeads)
        .filter(x -> queryHeads % x == 0).toArray();
    AttentionShape shape = new AttentionShape(queryHeads, divisors[kvChoice % divisors.length], headDim);
    // Keep the oracle's work bounded: fewer queries (then keys) for big shapes.
    long perPair = (long) queryHeads * headDim;
    int nk = (int) Math.min(numKeys, Math.max(1, ORACLE_BUDGET / perPair));
    int nq = (int) Math.max(1, Math.min(numQueries, ORACLE_BUDGET / (perPair * Math.max(1, nk))));
    Random random = new Random(seed);
    AttentionOptions options = options(optionBits, queryHeads, random, nk);

    float[] q = values(random, nq * shape.queryStride());
    float[] k = values(random, nk * shape.kvStride());
    float[] v = values(random, nk * shape.kvStride());
    double[] expected = Oracle.attend(shape, options, nq, nk, q, k, v);

    float[] scalar = new float[nq * shape.queryStride()];
    AttentionKernels.scalar().prefill(shape, options, nq, nk, q, 0, k, 0, v, 0, scalar, 0);
    AttentionKernel simd = AttentionKernels.simd(threads);
    float[] viaArrays = new float[nq * shape.queryStride() + 3];
    float[] qPadded = new float[q.length + 5];
    System.arraycopy(q, 0, qPadded, 5, q.length);
    float[] kPadded = new float[k.length + 7];
    System.arraycopy(k, 0, kPadded, 7, k.length);
    float[] vPadded = new float[v.length + 2];
    System.arraycopy(v, 0, vPadded, 2, v.length);
    simd.prefill(shape, options, nq, nk, qPadded, 5, kPadded, 7, vPadded, 2, viaArrays, 3);
    float[] viaSegments = new float[nq * shape.queryStride()];
    simd.prefill(shape, options, nq, nk, MemorySegment.ofArray(q), MemorySegment.ofArray(k),
        MemorySegment.ofArray(v), MemorySegment.ofArray(viaSegments));

    double tolerance = tolerance(headDim, nk, options);
    String context = shape + " " + options + " nq=" + nq + " nk=" + nk + " threads=" + threads;
    for (int i = 0; i < expected.length; i++) {
      assertClose(expected[i], scalar[i], tolerance, "scalar vs oracle", i, context);
      assertClose(expected[i], viaArrays[i + 3], tolerance, "simd vs oracle", i, context);
      assertClose(scalar[i], viaArrays[i + 3], tolerance, "simd vs scalar", i, context);
      // Not bitwise: the Vector API's exp may differ by an ulp between JIT tiers.
      assertClose(viaArrays[i + 3], viaSegments[i], tolerance, "arrays vs segments", i, context);
    }
  }

  @Property(tries = 40)
  void decodeSplitAcrossThreadsStaysWithinBound(
      @ForAll @IntRange(min = 1, max = 6) int log2Heads,
      @ForAll @IntRange(min = 0, max = 6) int log2KvHeads,
      @ForAll @IntRange(min = 300, max = 5000) int numKeys,
      @ForAll @IntRange(min = 0, max = 127) int optionBits,
      @ForAll long seed) {
    // Split-KV changes the summation order with the thread count; the results differ only by
    // rounding, bounded like any other reordering of the reduction, for every layout and option.
    int queryHeads = 1 << log2Heads;
    AttentionShape shape = AttentionShape.gqa(queryHeads, 1 << Math.min(log2KvHeads, log2Heads), 64);
    Random random = new Random(seed);
    float[] q = values(random, shape.queryStride());
    float[] k = values(random, numKeys * shape.kvStride());
    float[] v = values(random, numKeys * shape.kvStride());
    float[] one = new float[shape.queryStride()];
    float[] many = new float[shape.queryStride()];
    AttentionOptions options = options(optionBits, queryHeads, random, numKeys);
    AttentionKernels.simd(1).decode(shape, options, numKeys, q, 0, k, 0, v, 0, one, 0);
    AttentionKernels.simd(4).decode(shape, options, numKeys, q, 0, k, 0, v, 0, many, 0);
    double tolerance = tolerance(64, numKeys, options);
    for (int i = 0; i < one.length; i++) {
      assertClose(one[i], many[i], tolerance, "1 vs 4 threads", i, shape + " " + options
          + " nk=" + numKeys);
    }
  }
}
