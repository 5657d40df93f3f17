package io.mqa4j.bench.compare;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.function.LongSupplier;

/**
 * Times a step: warm-up runs first (so the JIT has compiled the kernel), then timed samples until
 * both a sample count and a time budget are reached. A sample groups several steps when one step
 * is too short to time on its own. Reports the median and the 10th and 90th percentiles.
 *
 * <p>Warm-up lasts at least the budget's time and count, and then until the JIT has gone quiet:
 * no compilation finished during the last few steps nor the last quarter second (a tenth under
 * {@code --quick}). A time budget alone measured the interpreter on a busy machine: the Vector
 * API's loops run a hundred times slower there, and their compilation can take longer than a
 * short budget (MQA decode of 1024 keys timed at 15-30 ms a step under {@code --quick}, against
 * 0.15 ms compiled). A few quiet
 * steps alone were not enough either: one C2 compilation of those loops lasts hundreds of
 * milliseconds, and short steps ended warm-up while it ran. Samples during which a compilation
 * finished are taken again after more warm-up, twice at most.
 */
public final class StepTimer {

  /** The timing of one configuration, in microseconds per step. */
  public record Timing(double median, double p10, double p90, int samples) {}

  /**
   * How long to warm up and to measure; {@code quietNanos} is how long no compilation may finish
   * before warm-up counts the JIT as quiet, and a warm-up whose JIT never goes quiet (other
   * threads compiling) stops after the longer of three times {@code warmupNanos} and
   * {@code maxWarmupNanos}.
   */
  public record Budget(long warmupNanos, int minWarmups, long measureNanos, int minSamples,
      int maxSamples, long quietNanos, long maxWarmupNanos) {
    public Budget {
      if (warmupNanos < 0 || minWarmups < 0 || measureNanos < 0 || minSamples < 0
          || maxSamples < minSamples || quietNanos < 0 || maxWarmupNanos < 0) {
        throw new IllegalArgumentException("budget needs times and counts >= 0 and minSamples <= "
            + "maxSamples, got warmupNanos " + warmupNanos + ", minWarmups " + minWarmups
            + ", measureNanos " + measureNanos + ", minSamples " + minSamples + ", maxSamples "
            + maxSamples + ", quietNanos " + quietNanos + ", maxWarmupNanos " + maxWarmupNanos);
      }
    }

    /**
     * A budget whose warm-up, when the JIT never goes quiet, stops after the longer of three times
     * {@code warmupNanos} and two seconds (three seconds for {@link #NORMAL}).
     */
    public Budget(long warmupNanos, int minWarmups, long measureNanos, int minSamples,
        int maxSamples, long quietNanos) {
      this(warmupNanos, minWarmups, measureNanos, minSamples, maxSamples, quietNanos,
          MAX_WARMUP_NANOS);
    }

    /** A budget whose JIT is quiet after a quarter second with no compilation finishing. */
    public Budget(long warmupNanos, int minWarmups, long measureNanos, int minSamples,
        int maxSamples) {
      this(warmupNanos, minWarmups, measureNanos, minSamples, maxSamples, QUIET_NANOS);
    }

    /** The default: enough for a stable median on a noisy machine, a few seconds at most per row. */
    public static final Budget NORMAL = new Budget(1_000_000_000L, 3, 700_000_000L, 9, 400);
    /**
     * For {@code --quick}: a rough median fast. A tenth of a second with no compilation finishing
     * counts as quiet here, and a warm-up that never goes quiet stops after 0.8 s rather than 2:
     * a quick run's 36 rows and six groups spent most of their time waiting.
     */
    public static final Budget QUICK = new Budget(60_000_000L, 2, 120_000_000L, 5, 100,
        100_000_000L, 800_000_000L);
  }

  /** Shortest sample worth timing with {@code System.nanoTime}. */
  private static final long MIN_SAMPLE_NANOS = 200_000;
  /** Steps in a row with no compilation finishing that make the JIT quiet. */
  private static final int QUIET_STEPS = 3;
  /** Time with no compilation finishing that makes the JIT quiet, besides the quiet steps. */
  public static final long QUIET_NANOS = 250_000_000L;
  /** Times samples are taken again because a compilation finished among them. */
  private static final int MAX_REMEASURES = 2;
  /** How long a warm-up whose JIT never goes quiet runs at least, unless a budget says less. */
  private static final long MAX_WARMUP_NANOS = 2_000_000_000L;
  /** A step this long lets the JIT finish what it started: one quiet step is enough. */
  private static final long LONG_STEP_NANOS = 50_000_000L;

  private StepTimer() {}

  public static Timing time(Runnable step, Budget budget) {
    return time(step, budget, compilationClock());
  }

  /**
   * {@link #time(Runnable, Budget)} with {@code compiledMillis} the JIT's total compilation time
   * so far (null: not known here, so warm-up goes by the budget alone).
   */
  static Timing time(Runnable step, Budget budget, LongSupplier compiledMillis) {
    long fastest = warmUp(step, budget, compiledMillis);
    for (int again = 0; ; again++) {
      long compiledBefore = compiledMillis == null ? 0 : compiledMillis.getAsLong();
      Timing t = sample(step, budget, fastest);
      if (compiledMillis == null || compiledMillis.getAsLong() == compiledBefore
          || again == MAX_REMEASURES) {
        return t;
      }
      fastest = Math.min(fastest, warmUp(step, budget, compiledMillis));
    }
  }

  /** Timed samples, grouping steps so that each sample lasts long enough to time. */
  private static Timing sample(Runnable step, Budget budget, long fastest) {
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

  /** Runs {@code step} for at least {@code nanos} and then until the JIT has gone quiet. */
  public static void warmUp(Runnable step, long nanos) {
    warmUp(step, nanos, QUIET_NANOS, MAX_WARMUP_NANOS);
  }

  /**
   * As {@link #warmUp(Runnable, long)}: quiet after {@code quietNanos} with no compilation
   * finishing, and stopped after {@code maxWarmupNanos} (or three times {@code nanos}) if never.
   */
  public static void warmUp(Runnable step, long nanos, long quietNanos, long maxWarmupNanos) {
    warmUp(step, new Budget(nanos, 3, 0, 0, 0, quietNanos, maxWarmupNanos), compilationClock());
  }

  /** Runs the warm-up and returns the fastest step it saw, in nanoseconds. */
  static long warmUp(Runnable step, Budget budget, LongSupplier compiledMillis) {
    long start = System.nanoTime();
    long fastest = Long.MAX_VALUE;
    long compiled = compiledMillis == null ? 0 : compiledMillis.getAsLong();
    long lastCompiled = start; // when the JIT last finished a compilation, as far as we know
    int quiet = 0;
    for (int i = 0; ; i++) {
      long t0 = System.nanoTime();
      step.run();
      long t = System.nanoTime() - t0;
      fastest = Math.min(fastest, t);
      long elapsed = System.nanoTime() - start;
      if (compiledMillis != null) {
        long now = compiledMillis.getAsLong();
        if (now != compiled) {
          quiet = 0;
          lastCompiled = System.nanoTime();
        } else {
          quiet++;
        }
        compiled = now;
      }
      boolean jitQuiet = compiledMillis == null
          || quiet >= (t >= LONG_STEP_NANOS ? 1 : QUIET_STEPS)
              && System.nanoTime() - lastCompiled >= budget.quietNanos();
      boolean budgetSpent = elapsed >= budget.warmupNanos() || fastest * 4 > budget.warmupNanos();
      if (i + 1 >= budget.minWarmups() && budgetSpent && jitQuiet) {
        return fastest;
      }
      if (i + 1 >= budget.minWarmups()
          && elapsed > Math.max(3 * budget.warmupNanos(), budget.maxWarmupNanos())) {
        return fastest; // a JIT that never goes quiet (other threads compiling) does not hold us
      }
    }
  }

  /** The JIT's total compilation time in milliseconds, or null where the JVM does not tell it. */
  private static LongSupplier compilationClock() {
    CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit::getTotalCompilationTime : null;
  }

  /** Linear interpolation between the closest ranks. */
  static double percentile(double[] sorted, double p) {
    double rank = p * (sorted.length - 1);
    int lo = (int) Math.floor(rank);
    int hi = Math.min(sorted.length - 1, lo + 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
  }
}
