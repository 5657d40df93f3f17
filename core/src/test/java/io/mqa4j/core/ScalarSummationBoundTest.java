package io.mqa4j.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.core.testkit.KernelChecks;
import io.mqa4j.core.testkit.Oracle;
import org.junit.jupiter.api.Test;

/**
 * The worst case of the scalar kernel's summation, as the README states it. The kernel adds keys
 * one after another in float; where every key's weight and value are alike, each addition rounds
 * the same way and the error grows with the number of keys, not with its square root as the
 * tests' bound for random inputs does.
 */
class ScalarSummationBoundTest {

  @Test
  void errorGrowsWithTheKeysButStaysUnderHalfAnUlpPerKey() {
    int d = 128;
    int nk = 16384;
    AttentionShape shape = AttentionShape.mha(1, d);
    AttentionOptions options = AttentionOptions.defaults();
    float[][] qkv = KernelChecks.uniformWeights(d, nk);
    float[] out = new float[d];
    AttentionKernels.scalar().decode(shape, options, nk, qkv[0], 0, qkv[1], 0, qkv[2], 0, out, 0);
    double[] expected = Oracle.attend(shape, options, 1, nk, qkv[0], qkv[1], qkv[2]);
    double worst = 0;
    for (int x = 0; x < d; x++) {
      worst = Math.max(worst, Math.abs(expected[x] - out[x]));
    }
    double randomBound = KernelChecks.tolerance(d, nk, options); // 2.7e-4, README's example
    double linearBound = nk * Math.ulp(1f) / 2;                  // 9.8e-4
    // Past the random-input bound (4.9e-4 measured), as README says; under the linear one.
    assertTrue(worst > randomBound && worst <= linearBound,
        "error " + worst + " against " + randomBound + " and " + linearBound);
  }
}
