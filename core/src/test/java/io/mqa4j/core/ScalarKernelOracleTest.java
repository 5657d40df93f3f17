package io.mqa4j.core;

import static io.mqa4j.core.testkit.KernelChecks.assertClose;
import static io.mqa4j.core.testkit.KernelChecks.options;
import static io.mqa4j.core.testkit.KernelChecks.tolerance;
import static io.mqa4j.core.testkit.KernelChecks.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.core.testkit.Oracle;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The scalar reference kernel against the float64 oracle, case by case. */
class ScalarKernelOracleTest {

  private static final AttentionKernel SCALAR = AttentionKernels.scalar();
  private static final int[] HEAD_DIMS = {1, 3, 17, 64, 80, 96, 100, 128, 256};

  static Stream<Arguments> layoutsOptionsAndHeadDims() {
    List<Arguments> cases = new ArrayList<>();
    int[][] layouts = {{8, 8}, {8, 2}, {8, 1}};
    // Each option alone, a few pairs, and everything at once.
    int[] optionMixes = {0, 1, 2, 4, 8, 16, 32, 64, 1 | 4, 2 | 32, 8 | 32, 1 | 4 | 8 | 32 | 64, 2 | 4 | 16 | 32 | 64};
    for (int[] layout : layouts) {
      for (int bits : optionMixes) {
        for (int d : HEAD_DIMS) {
          cases.add(Arguments.of(layout[0], layout[1], d, bits));
        }
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "H={0} KV={1} d={2} options={3}")
  @MethodSource("layoutsOptionsAndHeadDims")
  void matchesTheOracle(int queryHeads, int kvHeads, int headDim, int optionBits) {
    check(new AttentionShape(queryHeads, kvHeads, headDim), optionBits, 7, 23,
        31L * headDim + optionBits);
  }

  @Test
  void oneKeyOneQuery() {
    for (int bits = 0; bits < 128; bits += 5) {
      check(AttentionShape.gqa(4, 2, 17), bits, 1, 1, bits);
    }
  }

  @Test
  void moreQueriesThanKeysUnderCausalMaskSeeNothingAndOutputZeros() {
    AttentionShape shape = AttentionShape.mqa(4, 16);
    Random random = new Random(5);
    int nq = 6;
    int nk = 3;
    float[] q = values(random, nq * shape.queryStride());
    float[] k = values(random, nk * shape.kvStride());
    float[] v = values(random, nk * shape.kvStride());
    float[] out = new float[q.length];
    java.util.Arrays.fill(out, Float.NaN);
    SCALAR.prefill(shape, AttentionOptions.defaults().withCausal(true), nq, nk, q, 0, k, 0, v, 0, out, 0);
    // Queries 0..2 sit at positions -3..-1: no key is visible.
    for (int i = 0; i < 3 * shape.queryStride(); i++) {
      assertEquals(0f, out[i], "row of a query that sees no key");
    }
    check(shape, 1, nq, nk, 5);
  }

  @Test
  void noKeysAtAllGiveZerosWithOrWithoutSinks() {
    AttentionShape shape = AttentionShape.gqa(4, 2, 8);
    float[] q = values(new Random(1), 2 * shape.queryStride());
    for (AttentionOptions options : List.of(AttentionOptions.defaults(),
        AttentionOptions.defaults().withSinks(1f, 2f, 3f, 4f))) {
      float[] out = new float[q.length];
      java.util.Arrays.fill(out, 7f);
      SCALAR.prefill(shape, options, 2, 0, q, 0, new float[0], 0, new float[0], 0, out, 0);
      assertArrayEquals(new float[q.length], out, options.toString());
    }
  }

  @Test
  void hugeLogitsNeitherOverflowNorMakeNaN() {
    AttentionShape shape = AttentionShape.gqa(4, 2, 64);
    Random random = new Random(9);
    int nq = 3;
    int nk = 40;
    float[] q = values(random, nq * shape.queryStride());
    float[] k = values(random, nk * shape.kvStride());
    float[] v = values(random, nk * shape.kvStride());
    // Scale so logits reach about 1e4 in size.
    AttentionOptions options = AttentionOptions.defaults().withScale(1e4f / 8f).withCausal(true);
    float[] out = new float[q.length];
    SCALAR.prefill(shape, options, nq, nk, q, 0, k, 0, v, 0, out, 0);
    double[] expected = Oracle.attend(shape, options, nq, nk, q, k, v);
    for (int i = 0; i < out.length; i++) {
      assertTrue(Float.isFinite(out[i]), "finite at " + i);
      // A float32 logit near 1e4 carries an absolute rounding error near 1e4 * 2^-24 = 6e-4,
      // which moves a weight by as much in relative terms; outputs are below 1 in size.
      assertEquals(expected[i], out[i], 2e-3, "element " + i);
    }
  }

  @Test
  void sinksOnlyShrinkTheWeights() {
    AttentionShape shape = AttentionShape.mha(2, 4);
    float[] q = new float[8];
    float[] k = new float[8];
    float[] v = {1, 1, 1, 1, 2, 2, 2, 2};
    float[] out = new float[8];
    // One key, logit 0, sink logit 0: the key gets weight 1/2.
    SCALAR.decode(shape, AttentionOptions.defaults().withSinks(0f, Float.NEGATIVE_INFINITY), 1, q, 0,
        k, 0, v, 0, out, 0);
    assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f, 0.5f, 2, 2, 2, 2}, out);
  }

  static void check(AttentionShape shape, int optionBits, int nq, int nk, long seed) {
    Random random = new Random(seed);
    AttentionOptions options = options(optionBits, shape.queryHeads(), random, nk);
    float[] q = values(random, nq * shape.queryStride());
    float[] k = values(random, nk * shape.kvStride());
    float[] v = values(random, nk * shape.kvStride());
    float[] out = new float[q.length];
    SCALAR.prefill(shape, options, nq, nk, q, 0, k, 0, v, 0, out, 0);
    double[] expected = Oracle.attend(shape, options, nq, nk, q, k, v);
    double tolerance = tolerance(shape.headDim(), nk, options);
    String context = shape + " " + options + " nq=" + nq + " nk=" + nk;
    for (int i = 0; i < out.length; i++) {
      assertTrue(!Float.isNaN(out[i]), "NaN at " + i + " for " + context);
      assertClose(expected[i], out[i], tolerance, "scalar vs oracle", i, context);
    }
  }
}
