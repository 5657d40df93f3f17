package io.mqa4j.bench.jmh;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionShape;
import java.util.Locale;
import java.util.Random;

/** Shapes, kernels and inputs shared by the JMH benchmarks, named as their parameters spell them. */
final class Workload {
  private Workload() {}

  /** {@code mha}, {@code gqa} (8 KV heads, or fewer when there are fewer query heads) or {@code mqa}. */
  static AttentionShape shape(String layout, int queryHeads, int headDim) {
    return switch (layout.toLowerCase(Locale.ROOT)) {
      case "mha" -> AttentionShape.mha(queryHeads, headDim);
      case "gqa" -> AttentionShape.gqa(queryHeads, Math.min(8, queryHeads), headDim);
      case "mqa" -> AttentionShape.mqa(queryHeads, headDim);
      default -> throw new IllegalArgumentException("layout must be mha, gqa or mqa, got '" + layout + "'");
    };
  }

  /** The threads a benchmark's {@code threads} parameter asks for: 0 means every processor. */
  static int workers(int threads) {
    return threads == 0 ? AttentionKernels.processorThreads() : threads;
  }

  /** {@code scalar} or {@code simd} on {@code threads} threads. */
  static AttentionKernel kernel(String name, int threads) {
    return switch (name) {
      case "scalar" -> AttentionKernels.scalar();
      case "simd" -> AttentionKernels.simd(threads);
      default -> throw new IllegalArgumentException("kernel must be scalar or simd, got '" + name + "'");
    };
  }

  static float[] random(int n, long seed) {
    Random random = new Random(seed);
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = random.nextFloat() * 2f - 1f;
    }
    return a;
  }

  /** Fails the trial when {@code actual} strays from the scalar reference {@code expected}. */
  static void checkAgrees(float[] expected, float[] actual, String what) {
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
    }
    if (!(worst <= 1e-3)) {
      throw new IllegalStateException(what + ": kernel differs from the scalar reference by " + worst);
    }
  }
}
