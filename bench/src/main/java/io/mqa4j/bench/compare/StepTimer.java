package io.mqa4j.bench.compare;

import java.util.Arrays;

/**
 * Times a step: warm-up runs first (so the JIT has compiled the kernel), then timed samples until
 * both a sample count and a time budget are reached. A sample groups several steps when one step
 * is too short to time on its own. Reports the median and the 10th and 90th percentiles.
 */
public final class StepTimer {

  /** The timing of one configuration, in microseconds per step. */
  public record Timing(double median, double p10, double p90, int samples) {}

  /** How long to warm up and to measure. */
  public record Budget(long warmupNanos, int minWarmups, long measureNanos, int minSamples,
      int maxSamples) {
    /** The default: enough for a stable median on a noisy machine, a few seconds at most per row. */
    public static final Budget NORMAL = new Budget(1_000_000_000L, 3, 700_000_000L, 9, 400);
    /** For {@code --quick}: a rough median fast. */
    public static final Budget QUICK = new Budget(60_000_000L, 2, 120_000_000L, 5, 100);
  }

  /** Shortest sample worth timing with {@code System.nanoTime}. */
  private static final long MIN_SAMPLE_NANOS = 200_000;

  private StepTimer() {}

  public static Timing time(Runnable step, Budget budget) {
    long start = System.nanoTime();
    long fastest = Long.MAX_VALUE;
    for (int i = 0; i < budget.minWarmups() || System.nanoTime() - start < budget.warmupNanos(); i++) {
      long t0 = System.nanoTime();
      step.run();
      fastest = Math.min(fastest, System.nanoTime() - t0);
      if (i >= budget.minWarmups() && fastest * 4 > budget.warmupNanos()) {
        break; // slow steps: a few warm-ups are all the budget allows
      }
    }
    int perSample = (int) Math.max(1, Math.min(10_000, MIN_SAMPLE_NANOS / Math.max(1, fastest)));
    double[] micros = new double[budget.maxSamples()];
    int n = 0;
    long measureStart = System.nanoTime();
    while (n < budget.maxSamples()
        && (n < budget.minSamples() || System.nanoTime() - measureStart < budget.measureNanos())) {
      long t0 = System.nanoTime();
      for (int i = 0; i < perSample; i++) {
        step.run();
      }
      micros[n++] = (System.nanoTime() - t0) / 1e3 / perSample;
      if (n >= 3 && System.nanoTime() - measureStart > 4 * budget.measureNanos()) {
        break; // very slow steps: three samples rather than minutes
      }
    }
    double[] sorted = Arrays.copyOf(micros, n);
    Arrays.sort(sorted);
    return new Timing(percentile(sorted, 0.5), percentile(sorted, 0.1), percentile(sorted, 0.9), n);
  }

  /** Linear interpolation between the closest ranks. */
  static double percentile(double[] sorted, double p) {
    double rank = p * (sorted.length - 1);
    int lo = (int) Math.floor(rank);
    int hi = Math.min(sorted.length - 1, lo + 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
  }
}
