package io.mqa4j.core;

import static io.mqa4j.core.testkit.KernelChecks.assertClose;
import static io.mqa4j.core.testkit.KernelChecks.options;
import static io.mqa4j.core.testkit.KernelChecks.tolerance;
import static io.mqa4j.core.testkit.KernelChecks.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.mqa4j.core.testkit.Oracle;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** Random shapes, options and entry points for the scalar kernel. */
class ScalarKernelPropertiesTest {

  private static final AttentionKernel SCALAR = AttentionKernels.scalar();

  @Property(tries = 150)
  void matchesTheOracleOverRandomShapesAndOptions(
      @ForAll @IntRange(min = 1, max = 16) int queryHeads,
      @ForAll @IntRange(min = 0, max = 15) int kvChoice,
      @ForAll @IntRange(min = 1, max = 160) int headDim,
      @ForAll @IntRange(min = 0, max = 300) int numKeys,
      @ForAll @IntRange(min = 1, max = 40) int numQueries,
      @ForAll @IntRange(min = 0, max = 127) int optionBits,
      @ForAll long seed) {
    int[] divisors = java.util.stream.IntStream.rangeClosed(1, queryHeads)
        .filter(x -> queryHeads % x == 0).toArray();
    AttentionShape shape = new AttentionShape(queryHeads, divisors[kvChoice % divisors.length], headDim);
    // Keep the float64 oracle affordable: shrink keys and queries for wide shapes.
    long perPair = (long) queryHeads * headDim;
    int nk = (int) Math.min(numKeys, 400_000 / perPair);
    int nq = (int) Math.max(1, Math.min(numQueries, 2_000_000 / (perPair * Math.max(1, nk))));
    Random random = new Random(seed);
    AttentionOptions options = options(optionBits, queryHeads, random, nk);
    float[] q = values(random, nq * shape.queryStride());
    float[] k = values(random, nk * shape.kvStride());
    float[] v = values(random, nk * shape.kvStride());
    float[] out = new float[q.length];
    SCALAR.prefill(shape, options, nq, nk, q, 0, k, 0, v, 0, out, 0);
    double[] expected = Oracle.attend(shape, options, nq, nk, q, k, v);
    double tolerance = tolerance(headDim, nk, options);
    for (int i = 0; i < out.length; i++) {
      assertClose(expected[i], out[i], tolerance, "scalar vs oracle", i,
          shape + " " + options + " nq=" + nq + " nk=" + nk);
    }
  }

  @Property(tries = 60)
  void everyEntryPointComputesTheSameBits(
      @ForAll @IntRange(min = 1, max = 3) int log2Group,
      @ForAll @IntRange(min = 1, max = 70) int headDim,
      @ForAll @IntRange(min = 1, max = 90) int numKeys,
      @ForAll @IntRange(min = 0, max = 127) int optionBits,
      @ForAll @IntRange(min = 0, max = 9) int offset,
      @ForAll long seed) {
    AttentionShape shape = AttentionShape.gqa(2 << log2Group, 2, headDim);
    Random random = new Random(seed);
    AttentionOptions options = options(optionBits, shape.queryHeads(), random, numKeys);
    int qn = shape.queryStride();
    int kn = numKeys * shape.kvStride();
    float[] q = values(random, qn);
    float[] k = values(random, kn);
    float[] v = values(random, kn);

    float[] viaArrays = new float[qn];
    SCALAR.decode(shape, options, numKeys, q, 0, k, 0, v, 0, viaArrays, 0);

    // K's and V's offsets apart, so that a kernel reading values at the keys' offset fails.
    float[] padded = new float[offset + Math.max(qn, kn) + 3];
    float[] qPad = pad(q, offset, padded.length);
    float[] kPad = pad(k, offset, padded.length);
    float[] vPad = pad(v, offset + 3, padded.length);
    float[] outPad = new float[padded.length];
    SCALAR.prefill(shape, options, 1, numKeys, qPad, offset, kPad, offset, vPad, offset + 3,
        outPad, offset);
    assertArrayEquals(viaArrays, Arrays.copyOfRange(outPad, offset, offset + qn), "offsets");

    float[] viaSegments = new float[qn];
    SCALAR.prefill(shape, options, 1, numKeys, MemorySegment.ofArray(q), MemorySegment.ofArray(k),
        MemorySegment.ofArray(v), MemorySegment.ofArray(viaSegments));
    assertArrayEquals(viaArrays, viaSegments, "segments");

    try (ContiguousKvCache cache = new ContiguousKvCache(shape.kvHeads(), headDim, numKeys + 2)) {
      cache.append(numKeys, k, 0, v, 0);
      float[] viaCache = new float[qn];
      SCALAR.decode(shape, options, q, 0, cache, viaCache, 0);
      assertArrayEquals(viaArrays, viaCache, "cache");
      float[] viaBatch = new float[2 * qn];
      float[] q2 = new float[2 * qn];
      System.arraycopy(q, 0, q2, 0, qn);
      System.arraycopy(q, 0, q2, qn, qn);
      SCALAR.decodeBatch(shape, options, MemorySegment.ofArray(q2), new KvView[] {cache, cache},
          MemorySegment.ofArray(viaBatch));
      assertArrayEquals(viaArrays, Arrays.copyOfRange(viaBatch, 0, qn), "batch row 0");
      assertArrayEquals(viaArrays, Arrays.copyOfRange(viaBatch, qn, 2 * qn), "batch row 1");
    }
  }

  private static float[] pad(float[] a, int offset, int length) {
    float[] p = new float[length];
    Arrays.fill(p, Float.NaN); // anything read outside the range poisons the result
    System.arraycopy(a, 0, p, offset, a.length);
    return p;
  }
}
