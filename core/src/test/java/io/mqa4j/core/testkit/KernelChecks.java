package io.mqa4j.core.testkit;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.core.AttentionOptions;
import java.util.Random;

/** Inputs, option mixes and the stated tolerance shared by every kernel test. */
public final class KernelChecks {
  private KernelChecks() {}

  /** Option bits for {@link #options}: each bit switches on one option. */
  public static final int ALL_OPTION_BITS = 127;

  /**
   * Options from {@code bits}: 1 causal, 2 sliding window, 4 soft-cap, 8 standard ALiBi, 16 given
   * ALiBi slopes, 32 sinks, 64 an explicit scale. Random values come from {@code random}.
   */
  public static AttentionOptions options(int bits, int queryHeads, Random random, int numKeys) {
    AttentionOptions o = AttentionOptions.defaults();
    if ((bits & 1) != 0) o = o.withCausal(true);
    if ((bits & 2) != 0) o = o.withSlidingWindow(1 + random.nextInt(Math.max(1, numKeys)));
    if ((bits & 4) != 0) o = o.withSoftCap(5f + 45f * random.nextFloat());
    if ((bits & 8) != 0) o = o.withAlibi();
    if ((bits & 16) != 0) {
      float[] slopes = new float[queryHeads];
      for (int h = 0; h < queryHeads; h++) slopes[h] = random.nextFloat() * 0.5f;
      o = o.withAlibiSlopes(slopes);
    }
    if ((bits & 32) != 0) {
      float[] sinks = new float[queryHeads];
      for (int h = 0; h < queryHeads; h++) sinks[h] = (float) random.nextGaussian() * 3f;
      o = o.withSinks(sinks);
    }
    if ((bits & 64) != 0) o = o.withScale(0.05f + random.nextFloat());
    return o;
  }

  /** {@code n} values uniform in [-1, 1). */
  public static float[] values(Random random, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) a[i] = random.nextFloat() * 2f - 1f;
    return a;
  }

  /**
   * The tolerance every kernel is held to against the float64 oracle. Float32 rounding in a dot
   * product of {@code headDim} terms grows with {@code headDim}; the softmax sum over
   * {@code numKeys} terms adds error growing with their count. Inputs lie in [-1, 1], so logits
   * are bounded by {@code scale * headDim} and outputs by 1.
   */
  public static double tolerance(int headDim, int numKeys, AttentionOptions options) {
    double eps = Math.ulp(1f);
    double logitMagnitude = options.scaleFor(headDim) * headDim + 1;
    return 8 * eps * (headDim * logitMagnitude / Math.sqrt(headDim) + Math.sqrt(numKeys + 1.0) + 16);
  }

  public static void assertClose(double expected, double actual, double tolerance, String what,
      int index, String context) {
    assertTrue(Math.abs(expected - actual) <= tolerance,
        () -> what + " differ at " + index + ": expected " + expected + ", got " + actual
            + " (tolerance " + tolerance + ") for " + context);
  }

  /**
   * One query of head dim {@code headDim} over {@code numKeys} keys on which float sums taken one
   * key after another round the same way at every key: inputs in [-1, 1], every key but the
   * first of one logit (scaled, ln 0.9741211), every value 0.9969922. Returns q, K and V.
   */
  public static float[][] uniformWeights(int headDim, int numKeys) {
    float[] q = new float[headDim];
    q[0] = 1f;
    float[] k = new float[numKeys * headDim];
    float[] v = new float[numKeys * headDim];
    float logit = (float) (Math.log(0.9741211) * Math.sqrt(headDim));
    for (int j = 1; j < numKeys; j++) {
      k[j * headDim] = logit;
    }
    java.util.Arrays.fill(v, 0.9969922f);
    return new float[][] {q, k, v};
  }
}
