package io.mqa4j.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvType;
import io.mqa4j.core.KvView;
import io.mqa4j.core.PagedKvCache;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Inputs at the edges of the float range: NaN and infinite values where a row must not look, a
 * logit of minus infinity, a scale that overflows the scaled query, and a caller's view whose
 * type cannot hold its head dim. The SIMD kernel must do what the scalar kernel does.
 */
class SimdEdgeValuesTest {

  private static final AttentionShape[] SHAPES = {
      AttentionShape.mha(2, 16),      // rows one by one
      AttentionShape.gqa(8, 2, 16),   // four-row blocks
      AttentionShape.mqa(64, 16),     // lanes across rows at every width
  };

  /**
   * {@code scale * q} can overflow where {@code scale * (q . k)}, the scalar kernel's order, does
   * not; pre-scaled, the logits would turn +inf (keys told apart by the scalar kernel sharing the
   * weight) or NaN.
   */
  @Test
  void aScaleThatOverflowsTheScaledQueryButNotTheLogitMatchesScalar() {
    AttentionOptions options = AttentionOptions.defaults().withScale(Float.MAX_VALUE);
    for (AttentionShape shape : SHAPES) {
      int d = shape.headDim();
      float[] q = new float[shape.queryStride()];
      Arrays.fill(q, 2f); // q * MAX_VALUE = +inf in float
      int nk = 3;
      float[] k = new float[nk * shape.kvStride()];
      float[] v = new float[nk * shape.kvStride()];
      for (int g = 0; g < shape.kvHeads(); g++) {
        for (int x = 0; x < d; x++) {
          k[0 * shape.kvStride() + g * d + x] = 1f / 64; // q.k = 0.5  -> logit MAX/2, finite
          k[1 * shape.kvStride() + g * d + x] = 1f / 128; // q.k = 0.25 -> logit MAX/4
          k[2 * shape.kvStride() + g * d + x] = 0f;      // q.k = 0    -> logit 0
          v[0 * shape.kvStride() + g * d + x] = 1f;
          v[1 * shape.kvStride() + g * d + x] = 2f;
          v[2 * shape.kvStride() + g * d + x] = 3f;
        }
      }
      float[] expected = new float[q.length];
      AttentionKernels.scalar().decode(shape, options, nk, q, 0, k, 0, v, 0, expected, 0);
      for (float e : expected) {
        assertEquals(1f, e, "scalar: key 0 has the largest finite logit and takes all the weight");
      }
      for (int threads : new int[] {1, 2}) {
        float[] out = new float[q.length];
        AttentionKernels.simd(threads).decode(shape, options, nk, q, 0, k, 0, v, 0, out, 0);
        for (int i = 0; i < out.length; i++) {
          assertEquals(expected[i], out[i], 1e-6f, shape + " threads=" + threads + " element " + i);
        }
      }
    }
  }

  /**
   * A scale above 1 where neither {@code scale * q} nor any logit {@code scale * (q . k)}
   * overflows, and q . k's own products and partial sums are small: the partial sums of
   * {@code (scale * q) . k} can still pass the float range (q is +1 on its first half and -1 on
   * its second), which would make every logit +inf or NaN. Key 4 has the largest finite logit,
   * 0.375 x MAX_VALUE, and takes all the weight in the scalar kernel and the oracle.
   */
  @Test
  void aScaleAboveOneWhoseScaledDotProductsWouldOverflowMatchesScalar() {
    AttentionOptions options = AttentionOptions.defaults().withScale(0.75f * Float.MAX_VALUE);
    StringBuilder failures = new StringBuilder();
    for (AttentionShape shape : new AttentionShape[] {AttentionShape.mha(2, 128),
        AttentionShape.gqa(8, 2, 128), AttentionShape.mqa(64, 128), AttentionShape.mha(2, 64),
        AttentionShape.gqa(12, 2, 96), AttentionShape.mqa(32, 64)}) {
      int d = shape.headDim();
      int nk = 5;
      int nq = 2;
      float[] q = new float[nq * shape.queryStride()];
      for (int i = 0; i < q.length; i++) {
        q[i] = i % d < d / 2 ? 1f : -1f;
      }
      float[] k = new float[nk * shape.kvStride()];
      float[] v = new float[nk * shape.kvStride()];
      for (int j = 0; j < nk; j++) {
        for (int g = 0; g < shape.kvHeads(); g++) {
          for (int x = 0; x < d; x++) {
            int at = j * shape.kvStride() + g * d + x;
            k[at] = x == 0 ? 1f + j / 8f : 1f; // q . k_j = j / 8
            v[at] = j + 1;
          }
        }
      }
      for (KvType type : KvType.values()) {
        if (type != KvType.Q8_0) { // q8_0 stores the keys' ones a little apart
          float[] expected = run(false, 1, shape, options, nq, q, type, 16, nk, k, v);
          assertEquals(5f, expected[0], 1e-6f, type + " scalar: key 4 takes all the weight");
        }
        compare(failures, type + " " + shape, shape, options, nq, q, type, 3, nk, k, v);
      }
    }
    assertTrue(failures.isEmpty(), failures.toString());
  }

  /**
   * q8_0 keys of small values are stored as bytes of 127 with a small scale: a query of 1e37 or
   * 5e37 times those bytes passes the float range, where q . k (at most 1.3e38) and the logits do
   * not. Key 1 (0.02 everywhere) has twice key 0's logit (0.01) and takes all the weight; summed
   * unscaled, both logits would be +inf and share it.
   */
  @Test
  void hugeQueriesOverQ8KeysOfSmallValuesMatchScalar() {
    StringBuilder failures = new StringBuilder();
    for (AttentionShape shape : new AttentionShape[] {AttentionShape.mha(2, 128),
        AttentionShape.mha(2, 64), AttentionShape.mha(1, 256), AttentionShape.mha(2, 96),
        AttentionShape.gqa(8, 2, 128), AttentionShape.gqa(6, 2, 64), AttentionShape.mqa(64, 128)}) {
      int d = shape.headDim();
      for (float qValue : new float[] {1e37f, 5e37f}) {
        for (int nk : new int[] {2, 3}) {
          float[] q = new float[shape.queryStride()];
          Arrays.fill(q, qValue);
          float[] k = new float[nk * shape.kvStride()];
          float[] v = new float[nk * shape.kvStride()];
          float[] keyValues = {0.01f, 0.02f, 0.005f};
          for (int j = 0; j < nk; j++) {
            int at = j * shape.kvStride();
            Arrays.fill(k, at, at + shape.kvStride(), keyValues[j]);
            Arrays.fill(v, at, at + shape.kvStride(), j + 1);
          }
          float[] expected = run(false, 1, shape, AttentionOptions.defaults(), 1, q, KvType.Q8_0,
              16, nk, k, v);
          assertEquals(2f, expected[0], 1e-3f, "scalar: key 1 takes all the weight");
          compare(failures, shape + " q=" + qValue + " nk=" + nk, shape,
              AttentionOptions.defaults(), 1, q, KvType.Q8_0, 16, nk, k, v);
        }
      }
    }
    assertTrue(failures.isEmpty(), failures.toString());
  }

  /**
   * Keys a row cannot see share tiles with keys other rows see, with weight 0; 0 times a NaN or
   * an infinity is NaN, so a later token's value must not be multiplied into an earlier row. The
   * scalar kernel never reads a key a row does not see.
   */
  @Test
  void aNonFiniteValueOfAFutureTokenDoesNotReachEarlierQueriesInCausalPrefill() {
    AttentionOptions causal = AttentionOptions.defaults().withCausal(true);
    for (AttentionShape shape : SHAPES) {
      int nq = 4;
      int nk = 4;
      Random random = new Random(7);
      float[] q = values(random, nq * shape.queryStride());
      float[] k = values(random, nk * shape.kvStride());
      float[] v = values(random, nk * shape.kvStride());
      Arrays.fill(v, 3 * shape.kvStride(), 4 * shape.kvStride(), Float.NaN); // the last token's values
      float[] expected = new float[q.length];
      AttentionKernels.scalar().prefill(shape, causal, nq, nk, q, 0, k, 0, v, 0, expected, 0);
      for (int threads : new int[] {1, 2}) {
        float[] out = new float[q.length];
        AttentionKernels.simd(threads).prefill(shape, causal, nq, nk, q, 0, k, 0, v, 0, out, 0);
        // Queries 0..2 cannot see key 3.
        for (int i = 0; i < 3 * shape.queryStride(); i++) {
          assertFalse(Float.isNaN(expected[i]), "scalar row element " + i);
          assertEquals(expected[i], out[i], 1e-5f, shape + " threads=" + threads + " element " + i);
        }
      }
    }
  }

  /**
   * Through paged caches of every narrow type: f16 stores a value of 1e5 as +inf, bf16 keeps an
   * infinity, and a NaN makes a whole q8_0 block NaN.
   */
  @ParameterizedTest
  @EnumSource(value = KvType.class, names = {"F16", "BF16", "Q8_0"})
  void aNonFiniteCachedValueDoesNotReachQueriesThatCannotSeeIt(KvType type) {
    AttentionOptions causal = AttentionOptions.defaults().withCausal(true);
    float bad = switch (type) {
      case F16 -> 1e5f; // past f16's 65504
      case BF16 -> Float.POSITIVE_INFINITY;
      default -> Float.NaN;
    };
    AttentionShape[] shapes = {
        AttentionShape.mha(2, 32), AttentionShape.gqa(8, 2, 32), AttentionShape.mqa(64, 32)};
    for (AttentionShape shape : shapes) {
      int nq = 4;
      int nk = 4;
      Random random = new Random(11);
      float[] q = values(random, nq * shape.queryStride());
      float[] k = values(random, nk * shape.kvStride());
      float[] v = values(random, nk * shape.kvStride());
      Arrays.fill(v, 3 * shape.kvStride(), 4 * shape.kvStride(), bad);
      try (PagedKvCache cache = PagedKvCache.builder(shape.kvHeads(), shape.headDim())
          .type(type).capacityTokens(64).build()) {
        KvSequence seq = cache.newSequence();
        cache.append(seq, nk, k, 0, v, 0);
        MemorySegment qs = MemorySegment.ofArray(q);
        MemorySegment expected = MemorySegment.ofArray(new float[q.length]);
        AttentionKernels.scalar().prefill(shape, causal, nq, qs, seq, expected);
        for (int threads : new int[] {1, 2}) {
          MemorySegment out = MemorySegment.ofArray(new float[q.length]);
          AttentionKernels.simd(threads).prefill(shape, causal, nq, qs, seq, out);
          for (int i = 0; i < 3 * shape.queryStride(); i++) {
            float e = expected.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            assertFalse(Float.isNaN(e), "scalar row element " + i);
            assertEquals(e, out.getAtIndex(ValueLayout.JAVA_FLOAT, i), 1e-3f,
                type + " " + shape + " threads=" + threads + " element " + i);
          }
          // The query that sees the token sees its value, as in the scalar kernel.
          float last = out.getAtIndex(ValueLayout.JAVA_FLOAT, 3L * shape.queryStride());
          assertFalse(Float.isFinite(last), type + " " + shape + ": the last query sees it");
        }
      }
    }
  }

  /** With a sliding window: key 3 lies left of the windows of queries 1 to 3, inside query 0's. */
  @Test
  void aNonFiniteValueLeftOfTheWindowDoesNotReachTheRowsWhoseWindowExcludesIt() {
    AttentionOptions window = AttentionOptions.defaults().withSlidingWindow(2);
    for (AttentionShape shape : SHAPES) {
      int nq = 4;
      int nk = 8; // query i is at position 4 + i and sees keys 3 + i and 4 + i
      Random random = new Random(13);
      float[] q = values(random, nq * shape.queryStride());
      float[] k = values(random, nk * shape.kvStride());
      float[] v = values(random, nk * shape.kvStride());
      Arrays.fill(v, 3 * shape.kvStride(), 4 * shape.kvStride(), Float.POSITIVE_INFINITY);
      float[] expected = new float[q.length];
      AttentionKernels.scalar().prefill(shape, window, nq, nk, q, 0, k, 0, v, 0, expected, 0);
      for (int threads : new int[] {1, 2}) {
        float[] out = new float[q.length];
        AttentionKernels.simd(threads).prefill(shape, window, nq, nk, q, 0, k, 0, v, 0, out, 0);
        for (int i = shape.queryStride(); i < out.length; i++) { // queries 1..3 do not see key 3
          assertFalse(Float.isNaN(expected[i]), "scalar row element " + i);
          assertEquals(expected[i], out[i], 1e-5f, shape + " threads=" + threads + " element " + i);
        }
      }
    }
  }

  /** A visible key of logit -inf: the scalar kernel skips it, its value never read. */
  @Test
  void aKeyOfLogitMinusInfinityIsSkippedAsInTheScalarKernel() {
    for (AttentionShape shape : SHAPES) {
      float[] q = new float[shape.queryStride()];
      Arrays.fill(q, 1f);
      int nk = 2;
      float[] k = new float[nk * shape.kvStride()];
      float[] v = new float[nk * shape.kvStride()];
      Arrays.fill(k, 0, shape.kvStride(), 0.1f);
      Arrays.fill(v, 0, shape.kvStride(), 1f);
      Arrays.fill(k, shape.kvStride(), 2 * shape.kvStride(), Float.NEGATIVE_INFINITY);
      Arrays.fill(v, shape.kvStride(), 2 * shape.kvStride(), Float.POSITIVE_INFINITY);
      float[] expected = new float[q.length];
      AttentionKernels.scalar().decode(shape, AttentionOptions.defaults(), nk, q, 0, k, 0, v, 0,
          expected, 0);
      for (float e : expected) {
        assertEquals(1f, e, "scalar: the key of logit -inf has weight 0 and is skipped");
      }
      for (int threads : new int[] {1, 2}) {
        float[] out = new float[q.length];
        AttentionKernels.simd(threads).decode(shape, AttentionOptions.defaults(), nk, q, 0, k, 0,
            v, 0, out, 0);
        for (int i = 0; i < out.length; i++) {
          assertEquals(expected[i], out[i], 1e-6f, shape + " threads=" + threads + " element " + i);
        }
      }
    }
  }

  /** A caller's own view of q8_0 with head dim 16: refused alike, even when empty. */
  @Test
  void anEmptyViewOfATypeThatCannotHoldItsHeadDimIsRefusedByBothKernels() {
    AttentionShape shape = AttentionShape.mha(1, 16);
    KvView view = new KvView() {
      @Override public int kvHeads() { return 1; }
      @Override public int headDim() { return 16; }
      @Override public KvType type() { return KvType.Q8_0; }
      @Override public int length() { return 0; }
      @Override public int blockTokens() { return 16; }
      @Override public MemorySegment keyBlock(int block) { return MemorySegment.ofArray(new byte[64]); }
      @Override public MemorySegment valueBlock(int block) { return MemorySegment.ofArray(new byte[64]); }
    };
    for (AttentionKernel kernel : new AttentionKernel[] {
        AttentionKernels.scalar(), AttentionKernels.simd(1), AttentionKernels.simd(2)}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> kernel.decode(shape, AttentionOptions.defaults(), new float[16], 0, view,
              new float[16], 0), kernel.name());
      assertEquals("kv is of KV type q8_0, which needs a head dim that is a multiple of 32, but holds headDim=16",
          e.getMessage(), kernel.name());
    }
  }

  private static float[] values(Random random, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = random.nextFloat() * 2f - 1f;
    }
    return a;
  }

  /**
   * scale * q overflows, so the scale goes on the dot products: key 0's logit 10 * -1e38 is -inf
   * only once scaled. The scalar kernel skips it and never reads its value (+inf).
   */
  @Test
  void aLogitThatTurnsMinusInfinityOnlyOnceScaledIsSkippedAsInTheScalarKernel() {
    AttentionOptions options = AttentionOptions.defaults().withScale(10f);
    StringBuilder failures = new StringBuilder();
    for (AttentionShape shape : SHAPES) {
      int d = shape.headDim();
      float[] q = new float[shape.queryStride()];
      for (int h = 0; h < shape.queryHeads(); h++) {
        q[h * d] = 1e38f; // 10 * 1e38 = +inf: the scaled query is not finite
      }
      int nk = 2;
      float[] k = new float[nk * shape.kvStride()];
      float[] v = new float[nk * shape.kvStride()];
      for (int g = 0; g < shape.kvHeads(); g++) {
        k[g * d] = -1f; // key 0: q.k = -1e38, logit -inf
        Arrays.fill(v, g * d, g * d + d, Float.POSITIVE_INFINITY);
        Arrays.fill(v, shape.kvStride() + g * d, shape.kvStride() + g * d + d, 1f); // key 1: logit 0
      }
      float[] expected = new float[q.length];
      AttentionKernels.scalar().decode(shape, options, nk, q, 0, k, 0, v, 0, expected, 0);
      for (float e : expected) {
        assertEquals(1f, e, "scalar skips the key of logit -inf");
      }
      for (int threads : new int[] {1, 2}) {
        float[] out = new float[q.length];
        AttentionKernels.simd(threads).decode(shape, options, nk, q, 0, k, 0, v, 0, out, 0);
        if (!close(expected, out)) {
          failures.append(shape + " threads=" + threads + ": out[0]=" + out[0] + "\n");
        }
      }
    }
    assertTrue(failures.isEmpty(), failures.toString());
  }
  /**
   * A finite ALiBi slope times a key distance can overflow to -inf, with or without a soft-cap;
   * the scalar kernel then skips the key.
   */
  @Test
  void aLogitMadeMinusInfinityByAlibiIsSkippedAsInTheScalarKernel() {
    StringBuilder failures = new StringBuilder();
    for (boolean softCap : new boolean[] {false, true}) {
      for (AttentionShape shape : SHAPES) {
        float[] slopes = new float[shape.queryHeads()];
        Arrays.fill(slopes, 1e38f); // finite; key 0 at distance 3: -3e38 ... distance 7 overflows
        AttentionOptions options = AttentionOptions.defaults().withAlibiSlopes(slopes);
        if (softCap) {
          options = options.withSoftCap(30f);
        }
        int d = shape.headDim();
        float[] q = new float[shape.queryStride()];
        Arrays.fill(q, 0.5f);
        int nk = 8; // position 7; key 0 at distance 7: slope * -7 = -inf
        float[] k = new float[nk * shape.kvStride()];
        Arrays.fill(k, 0.25f);
        float[] v = new float[nk * shape.kvStride()];
        Arrays.fill(v, 2f);
        Arrays.fill(v, 0, shape.kvStride(), Float.POSITIVE_INFINITY); // key 0's value
        float[] expected = new float[q.length];
        AttentionKernels.scalar().decode(shape, options, nk, q, 0, k, 0, v, 0, expected, 0);
        for (float e : expected) {
          assertEquals(2f, e, "scalar: key 0 has logit -inf and is skipped");
        }
        for (int threads : new int[] {1, 2}) {
          float[] out = new float[q.length];
          AttentionKernels.simd(threads).decode(shape, options, nk, q, 0, k, 0, v, 0, out, 0);
          if (!close(expected, out)) {
            failures.append(shape + " softCap=" + softCap + " threads=" + threads + ": out[0]="
                + out[0] + "\n");
          }
        }
      }
    }
    assertTrue(failures.isEmpty(), failures.toString());
  }
  /**
   * A visible key whose weight underflows to 0 (logit 200 below the row's maximum) and whose
   * value is +inf: the SIMD kernel skips it, in decode as in prefill (the scalar kernel adds
   * 0 x inf, NaN; the float64 oracle gives +inf), so a row does not depend on its neighbours.
   */
  @Test
  void aVisibleKeyWhoseWeightUnderflowsIsTreatedAlikeInPrefillAndDecode() {
    AttentionShape shape = AttentionShape.mha(1, 16); // scale 1/4: logit = 4 * k for q = 1
    AttentionOptions causal = AttentionOptions.defaults().withCausal(true);
    int d = shape.headDim();
    float[] q = new float[2 * d];
    Arrays.fill(q, 1f);
    float[] k = new float[2 * d];
    Arrays.fill(k, 0, d, -25f); // key 0: logit -100
    Arrays.fill(k, d, 2 * d, 25f); // key 1: logit 100
    float[] v = new float[2 * d];
    Arrays.fill(v, 0, d, Float.POSITIVE_INFINITY);
    Arrays.fill(v, d, 2 * d, 1f);
    for (int threads : new int[] {1, 2}) {
      float[] decode = new float[d];
      AttentionKernels.simd(threads).decode(shape, causal, 2, q, d, k, 0, v, 0, decode, 0);
      float[] prefill = new float[2 * d];
      AttentionKernels.simd(threads).prefill(shape, causal, 2, 2, q, 0, k, 0, v, 0, prefill, 0);
      for (int x = 0; x < d; x++) {
        assertEquals(1f, decode[x], "decode, element " + x);
        assertEquals(1f, prefill[d + x], "prefill, query 1, element " + x);
        assertEquals(Float.POSITIVE_INFINITY, prefill[x], "query 0 sees only key 0");
      }
    }
  }

  private static boolean close(float[] expected, float[] out) {
    for (int i = 0; i < out.length; i++) {
      if (!(Math.abs(expected[i] - out[i]) <= 1e-6f)) {
        return false;
      }
    }
    return true;
  }

  private static final AttentionShape[] WIDE_SHAPES = {
      AttentionShape.mha(2, 64), AttentionShape.mha(3, 32), AttentionShape.gqa(8, 2, 32),
      AttentionShape.gqa(12, 2, 32), AttentionShape.gqa(7, 1, 32), AttentionShape.mqa(64, 32),
      AttentionShape.mqa(32, 64), AttentionShape.mqa(12, 32), AttentionShape.gqa(32, 4, 32)};

  private static AttentionOptions opts(int bits, int heads, Random random) {
    AttentionOptions o = AttentionOptions.defaults();
    if ((bits & 1) != 0) o = o.withCausal(true);
    if ((bits & 2) != 0) o = o.withSlidingWindow(1 + random.nextInt(90));
    if ((bits & 4) != 0) o = o.withSoftCap(20f);
    if ((bits & 8) != 0) o = o.withAlibi();
    if ((bits & 16) != 0) {
      float[] sinks = new float[heads];
      for (int h = 0; h < heads; h++) sinks[h] = (float) random.nextGaussian();
      o = o.withSinks(sinks);
    }
    return o;
  }

  private static float[] run(boolean simd, int threads, AttentionShape shape,
      AttentionOptions options, int nq, float[] q, KvType type, int blockTokens, int nk, float[] k,
      float[] v) {
    try (PagedKvCache cache = PagedKvCache.builder(shape.kvHeads(), shape.headDim()).type(type)
        .blockTokens(blockTokens).capacityTokens(nk).build()) {
      KvSequence seq = cache.newSequence();
      cache.append(seq, nk, k, 0, v, 0);
      float[] out = new float[nq * shape.queryStride()];
      MemorySegment os = MemorySegment.ofArray(out);
      MemorySegment qs = MemorySegment.ofArray(q);
      if (simd) {
        AttentionKernels.simd(threads).prefill(shape, options, nq, qs, seq, os);
      } else {
        AttentionKernels.scalar().prefill(shape, options, nq, qs, seq, os);
      }
      return out;
    }
  }

  /**
   * Runs the scalar kernel and the SIMD kernel on 1 and 2 threads over a paged cache, and notes
   * the first element where they differ by more than 2e-3 relative (at least absolute), a
   * non-finite expected element wanting a non-finite one.
   */
  private static void compare(StringBuilder failures, String what, AttentionShape shape,
      AttentionOptions o, int nq, float[] q, KvType type, int bt, int nk, float[] k, float[] v) {
    float[] expected = run(false, 1, shape, o, nq, q, type, bt, nk, k, v);
    for (int threads : new int[] {1, 2}) {
      float[] out = run(true, threads, shape, o, nq, q, type, bt, nk, k, v);
      for (int i = 0; i < out.length; i++) {
        boolean ok = Float.isFinite(expected[i])
            ? Math.abs(expected[i] - out[i]) <= 2e-3f * Math.max(1f, Math.abs(expected[i]))
            : !Float.isFinite(out[i]);
        if (!ok) {
          failures.append(what + " threads=" + threads + " at " + i + ": " + expected[i] + " vs "
              + out[i] + "\n");
          break;
        }
      }
    }
  }

  /**
   * scale * q overflows in every row (one element of q huge, the keys' element 0 is zero), so the
   * whole call runs with scoreScale = 1e30: every path must multiply its scores by it.
   */
  @Test
  void aScaleOnTheDotProductsMatchesScalarOnEveryPath() {
    Random random = new Random(3);
    float scale = 1e30f;
    StringBuilder failures = new StringBuilder();
    for (KvType type : KvType.values()) {
      for (AttentionShape shape : WIDE_SHAPES) {
        int d = shape.headDim();
        for (int[] nqnk : new int[][] {{1, 40}, {1, 700}, {5, 70}, {40, 130}}) {
          int nq = nqnk[0], nk = nqnk[1];
          int bits = random.nextInt(32);
          AttentionOptions o = opts(bits, shape.queryHeads(), random).withScale(scale);
          float[] q = new float[nq * shape.queryStride()];
          for (int i = 0; i < q.length; i++) {
            q[i] = (random.nextFloat() * 2 - 1) * 1e-30f * 4;
          }
          for (int r = 0; r < nq * shape.queryHeads(); r++) q[r * d] = 1e9f;
          float[] k = new float[nk * shape.kvStride()];
          float[] v = new float[nk * shape.kvStride()];
          for (int i = 0; i < k.length; i++) {
            k[i] = i % d == 0 ? 0f : random.nextFloat() * 2 - 1;
            v[i] = random.nextFloat() * 2 - 1;
          }
          int bt = 1 + random.nextInt(40);
          compare(failures, type + " " + shape + " nq=" + nq + " nk=" + nk + " bits=" + bits
              + " bt=" + bt, shape, o, nq, q, type, bt, nk, k, v);
        }
      }
    }
    assertTrue(failures.isEmpty(), failures.toString());
  }

  /**
   * Non-finite values in a few tokens of caches of every type, over many tiles, blocks and key
   * splits, with accumulators already holding earlier tiles: compared with the scalar kernel,
   * non-finite for non-finite.
   */
  @Test
  void nonFiniteValuesAnywhereMatchScalarOverManyTilesAndSplits() {
    Random random = new Random(5);
    StringBuilder failures = new StringBuilder();
    for (KvType type : KvType.values()) {
      for (AttentionShape shape : WIDE_SHAPES) {
        for (int[] nqnk : new int[][] {{1, 700}, {5, 200}, {40, 130}, {100, 100}}) {
          int nq = nqnk[0], nk = nqnk[1];
          int bits = random.nextInt(32) | 1;
          if (random.nextBoolean()) bits |= 2;
          AttentionOptions o = opts(bits, shape.queryHeads(), random);
          float[] q = new float[nq * shape.queryStride()];
          for (int i = 0; i < q.length; i++) q[i] = random.nextFloat() * 2 - 1;
          float[] k = new float[nk * shape.kvStride()];
          float[] v = new float[nk * shape.kvStride()];
          for (int i = 0; i < k.length; i++) {
            k[i] = random.nextFloat() * 2 - 1;
            v[i] = random.nextFloat() * 2 - 1;
          }
          // Bad values in a few tokens, one element each.
          for (int t = 0; t < 3; t++) {
            int token = random.nextInt(nk);
            int at = token * shape.kvStride() + random.nextInt(shape.kvStride());
            v[at] = type == KvType.F16 ? 1e5f : random.nextBoolean() ? Float.NaN
                : Float.NEGATIVE_INFINITY;
          }
          int bt = 1 + random.nextInt(40);
          compare(failures, type + " " + shape + " nq=" + nq + " nk=" + nk + " bits=" + bits
              + " bt=" + bt, shape, o, nq, q, type, bt, nk, k, v);
        }
      }
    }
    assertTrue(failures.isEmpty(), failures.toString());
  }

  /** A NaN weight with its sign bit set (x86's default NaN, as 0 * -inf gives) beside a 0. */
  @Test
  void anyZeroBlockFindsAZeroBesideANegativeNaN() {
    float[] w = new float[4 * VectorConstants.LANES * 2];
    Arrays.fill(w, 0.5f);
    w[1] = Float.intBitsToFloat(0xffc00000); // NaN, sign bit set
    w[7] = 0f;
    assertTrue(NonFiniteValues.anyZero(w, 0, w.length), "per-row check sees the 0");
    assertTrue(NonFiniteValues.anyZeroBlock(w, 0, w.length), "block check sees it beside the NaN");
  }

  /**
   * Head 0 has q[0] = 0 and key 3's k[0] = -inf: logit 0 * -inf = NaN, so head 0 is NaN in both
   * kernels. The other heads' logit for key 3 is -inf, and the scalar kernel skips it (value +inf):
   * head 0's NaN weights, negative as integers, must not hide their weight of 0.
   */
  @Test
  void aNaNRowDoesNotLeakIntoAnotherRowsSkippedKey() {
    StringBuilder failures = new StringBuilder();
    for (AttentionShape shape : new AttentionShape[] {
        AttentionShape.gqa(2, 1, 16), AttentionShape.mqa(8, 16), AttentionShape.mqa(16, 16),
        AttentionShape.gqa(4, 2, 16)}) {
      int d = shape.headDim();
      int nk = 64;
      float[] q = new float[shape.queryStride()];
      Arrays.fill(q, 0.25f);
      q[0] = 0f; // head 0 only
      float[] k = new float[nk * shape.kvStride()];
      Arrays.fill(k, 0.1f);
      float[] v = new float[nk * shape.kvStride()];
      Arrays.fill(v, 2f);
      for (int g = 0; g < shape.kvHeads(); g++) {
        int at = 3 * shape.kvStride() + g * d;
        Arrays.fill(k, at, at + d, 0f);
        k[at] = Float.NEGATIVE_INFINITY;
        Arrays.fill(v, at, at + d, Float.POSITIVE_INFINITY);
      }
      AttentionOptions o = AttentionOptions.defaults();
      float[] expected = new float[q.length];
      AttentionKernels.scalar().decode(shape, o, nk, q, 0, k, 0, v, 0, expected, 0);
      float[] out = new float[q.length];
      AttentionKernels.simd(1).decode(shape, o, nk, q, 0, k, 0, v, 0, out, 0);
      for (int h = 1; h < shape.queryHeads(); h++) {
        if (!(Math.abs(expected[h * d] - out[h * d]) <= 1e-5f)) {
          failures.append(shape + " head " + h + ": scalar " + expected[h * d] + " simd "
              + out[h * d] + " (head 0: " + expected[0] + "/" + out[0] + ")\n");
        }
      }
    }
    assertTrue(failures.isEmpty(), failures.toString());
  }

  /**
   * The input on which the scalar kernel's one-after-another float sums reach 4.9e-4 (see core's
   * ScalarSummationBoundTest): the SIMD kernel, which adds in lanes and in splits, stays within
   * the bound for random inputs, with one thread and with several.
   */
  @Test
  void uniformWeightsStayWithinTheRandomInputBound() {
    int d = 128;
    int nk = 16384;
    AttentionShape shape = AttentionShape.mha(1, d);
    AttentionOptions options = AttentionOptions.defaults();
    float[][] qkv = io.mqa4j.core.testkit.KernelChecks.uniformWeights(d, nk);
    float[] q = qkv[0];
    float[] k = qkv[1];
    float[] v = qkv[2];
    double[] expected = io.mqa4j.core.testkit.Oracle.attend(shape, options, 1, nk, q, k, v);
    double bound = io.mqa4j.core.testkit.KernelChecks.tolerance(d, nk, options);
    for (int threads : new int[] {1, 2, 3}) {
      float[] out = new float[d];
      AttentionKernels.simd(threads).decode(shape, options, nk, q, 0, k, 0, v, 0, out, 0);
      for (int x = 0; x < d; x++) {
        io.mqa4j.core.testkit.KernelChecks.assertClose(expected[x], out[x], bound, "outputs", x,
            "uniform weights, " + threads + " threads");
      }
    }
  }
}
