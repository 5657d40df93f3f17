package io.mqa4j.simd;

import static io.mqa4j.core.testkit.KernelChecks.assertClose;
import static io.mqa4j.core.testkit.KernelChecks.tolerance;
import static io.mqa4j.core.testkit.KernelChecks.values;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.ContiguousKvCache;
import io.mqa4j.core.testkit.Oracle;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Fixed cases the random properties may miss: tile edges, windows, empty rows, huge logits. */
class SimdKernelCasesTest {

  @Test
  void usesTheRequestedVectorWidth() {
    String bits = System.getProperty(VectorConstants.BITS_PROPERTY);
    AttentionKernel kernel = AttentionKernels.simd(2);
    if (bits != null) {
      assertTrue(kernel.description().contains(bits + "-bit"), kernel.description());
    }
    assertEquals("simd", kernel.name());
    assertSame(kernel, AttentionKernels.simd(2), "one kernel (and thread pool) per thread count");
  }

  @Test
  void bestPicksSimdWhenTheModuleIsPresent() {
    assertEquals("simd", AttentionKernels.best().name());
    assertTrue(AttentionKernels.simdAvailable());
    assertTrue(AttentionKernels.simdUnavailableReason().isEmpty());
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 3, 17, 64, 80, 96, 100, 128, 256})
  void slidingWindowsThatStartPastATileAgreeWithTheOracle(int headDim) {
    // Windows far shorter than a tile: early queries' windows end before later tiles begin.
    for (AttentionShape shape : new AttentionShape[] {
        AttentionShape.mha(4, headDim), AttentionShape.gqa(8, 2, headDim), AttentionShape.mqa(6, headDim)}) {
      for (int window : new int[] {1, 3, 70}) {
        check(shape, AttentionOptions.defaults().withSlidingWindow(window), 150, 300, 11L * window);
      }
    }
  }

  @Test
  void shortWindowsAcrossAWideBlockOfQueries() {
    // Few heads, many queries: one task holds every query, so the last queries' windows start
    // tiles after the first queries' windows end.
    for (AttentionShape shape : new AttentionShape[] {
        AttentionShape.mqa(2, 32), AttentionShape.gqa(4, 2, 24), AttentionShape.mha(1, 40)}) {
      check(shape, AttentionOptions.defaults().withSlidingWindow(3), 120, 400, 17);
    }
  }

  @Test
  void causalPrefillWithMoreQueriesThanKeysZeroesRowsThatSeeNothing() {
    AttentionShape shape = AttentionShape.gqa(8, 4, 32);
    float[] out = check(shape, AttentionOptions.defaults().withCausal(true), 40, 25, 5);
    // The first 15 queries sit before the first key: their rows are exactly zero.
    for (int i = 0; i < 15 * shape.queryStride(); i++) {
      assertEquals(0f, out[i], "row element " + i);
    }
  }

  @Test
  void noKeysGiveZerosEvenWithSinks() {
    AttentionShape shape = AttentionShape.mqa(4, 16);
    float[] out = check(shape, AttentionOptions.defaults().withSinks(1f, 2f, 3f, 4f), 1, 0, 1);
    for (float x : out) {
      assertEquals(0f, x);
    }
  }

  @Test
  void hugeLogitsStayFinite() {
    AttentionShape shape = AttentionShape.gqa(8, 2, 128);
    AttentionOptions options = AttentionOptions.defaults().withScale(1000f);
    float[] out = check(shape, options, 3, 500, 9);
    for (float x : out) {
      assertFalse(Float.isNaN(x) || Float.isInfinite(x));
    }
  }

  @Test
  void logitsPastTheFloatRangeShareTheWeightOnBothKernels() {
    // q.k is 2, -1, 0.5, 2, 0.9 for the five keys; a scale of Float.MAX_VALUE sends two logits
    // to +inf. The softmax's limit gives those two keys all the weight, half each.
    int headDim = 16;
    float[] dots = {2f, -1f, 0.5f, 2f, 0.9f};
    for (AttentionShape shape : new AttentionShape[] {
        AttentionShape.mha(2, headDim), AttentionShape.mqa(32, headDim), AttentionShape.gqa(8, 2, headDim)}) {
      float[] q = new float[shape.queryStride()];
      for (int h = 0; h < shape.queryHeads(); h++) {
        q[h * headDim] = 1f;
      }
      float[] k = new float[dots.length * shape.kvStride()];
      float[] v = new float[dots.length * shape.kvStride()];
      for (int j = 0; j < dots.length; j++) {
        for (int g = 0; g < shape.kvHeads(); g++) {
          k[j * shape.kvStride() + g * headDim] = dots[j];
          for (int x = 0; x < headDim; x++) {
            v[j * shape.kvStride() + g * headDim + x] = j * 10 + x;
          }
        }
      }
      for (AttentionOptions options : new AttentionOptions[] {
          AttentionOptions.defaults().withScale(Float.MAX_VALUE),
          AttentionOptions.defaults().withScale(Float.MAX_VALUE).withSinks(new float[shape.queryHeads()])}) {
        for (AttentionKernel kernel : new AttentionKernel[] {AttentionKernels.scalar(), AttentionKernels.simd(2)}) {
          float[] out = new float[q.length];
          kernel.decode(shape, options, dots.length, q, 0, k, 0, v, 0, out, 0);
          for (int h = 0; h < shape.queryHeads(); h++) {
            for (int x = 0; x < headDim; x++) {
              assertEquals((0 * 10 + x + 3 * 10 + x) / 2f, out[h * headDim + x], 1e-4f,
                  kernel.name() + " " + shape + " head " + h + " element " + x);
            }
          }
        }
      }
    }
  }

  @Test
  void decodeOverACacheMatchesDecodeOverArrays() {
    AttentionShape shape = AttentionShape.gqa(32, 8, 128);
    Random random = new Random(3);
    int nk = 5000;
    float[] q = values(random, shape.queryStride());
    float[] k = values(random, nk * shape.kvStride());
    float[] v = values(random, nk * shape.kvStride());
    float[] viaArrays = new float[shape.queryStride()];
    float[] viaCache = new float[shape.queryStride()];
    AttentionKernel kernel = AttentionKernels.simd(2);
    AttentionOptions options = AttentionOptions.defaults().withAlibi();
    kernel.decode(shape, options, nk, q, 0, k, 0, v, 0, viaArrays, 0);
    try (ContiguousKvCache cache = new ContiguousKvCache(8, 128, nk)) {
      cache.append(nk, k, 0, v, 0);
      kernel.decode(shape, options, q, 0, cache, viaCache, 0);
    }
    double tol = tolerance(128, nk, options);
    for (int i = 0; i < viaArrays.length; i++) {
      assertClose(viaArrays[i], viaCache[i], tol, "arrays vs cache", i, shape.toString());
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 64, 130})
  void rowsAcrossLanesAgreeWithTheOracleUnderEveryOption(int headDim) {
    // Enough rows per KV head for the loops with the lanes across rows (MQA decode, blocks of
    // prefill queries), including row counts padded up to whole vectors.
    int lanes = VectorConstants.LANES;
    assertTrue(PanamaAttentionKernel.laneRows(2 * lanes));
    assertTrue(PanamaAttentionKernel.laneRows(4 * lanes - 3));
    assertFalse(PanamaAttentionKernel.laneRows(lanes - 1));
    AttentionShape[] shapes = {AttentionShape.mqa(2 * lanes, headDim),
        AttentionShape.mqa(4 * lanes - 3, headDim), AttentionShape.gqa(8, 2, headDim),
        AttentionShape.mha(3, headDim)};
    AttentionOptions base = AttentionOptions.defaults();
    AttentionOptions[] optionSets = {base, base.withCausal(true),
        base.withCausal(true).withSlidingWindow(37), base.withSoftCap(2f), base.withAlibi(),
        base.withCausal(true).withSoftCap(3f).withAlibi().withSlidingWindow(90)};
    long seed = 100;
    for (AttentionShape shape : shapes) {
      float[] sinks = new float[shape.queryHeads()];
      java.util.Arrays.fill(sinks, 0.5f);
      for (AttentionOptions options : optionSets) {
        check(shape, options, 1, 300, seed++); // decode
        check(shape, options, 70, 150, seed++); // prefill over a prefix
        check(shape, options.withSinks(sinks), 33, 33, seed++);
      }
    }
  }

  private static float[] check(AttentionShape shape, AttentionOptions options, int nq, int nk, long seed) {
    Random random = new Random(seed);
    float[] q = values(random, nq * shape.queryStride());
    float[] k = values(random, nk * shape.kvStride());
    float[] v = values(random, nk * shape.kvStride());
    double[] expected = Oracle.attend(shape, options, nq, nk, q, k, v);
    double tol = tolerance(shape.headDim(), nk, options);
    float[] first = null;
    for (int threads : new int[] {1, 2, 3}) {
      float[] out = new float[nq * shape.queryStride()];
      AttentionKernels.simd(threads).prefill(shape, options, nq, nk, q, 0, k, 0, v, 0, out, 0);
      for (int i = 0; i < out.length; i++) {
        assertClose(expected[i], out[i], tol, "simd vs oracle", i,
            shape + " " + options + " nq=" + nq + " nk=" + nk + " threads=" + threads);
      }
      first = first == null ? out : first;
    }
    return first;
  }
}
