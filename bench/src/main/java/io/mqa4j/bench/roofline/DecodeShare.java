package io.mqa4j.bench.roofline;

import io.mqa4j.bench.compare.StepTimer;
import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvView;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Decode's read rate as a share of the memory read bandwidth, the two measured in turn in one
 * JVM: each round times a read pass, a batch of decode steps over every cache, and another read
 * pass, and judges the round's decode rate against the mean of the two passes around it. Caches
 * are timed in the same rounds too, so their time ratios are side by side. Run-to-run swings of
 * the machine (the read bandwidth here has moved by 1.3x within five minutes) then cancel out of
 * the shares and ratios, which a roofline taken once before a run cannot do.
 */
public final class DecodeShare {

  /** Warm-up time per cache after its fixed steps, before waiting for the JIT to go quiet. */
  private static final long WARMUP_NANOS = 200_000_000L;

  private DecodeShare() {}

  /** A named KV cache to decode over. */
  public record Case(String name, KvView view) {}

  /**
   * One cache's figures: medians over rounds (each round's step time is the median of its steps),
   * with the lowest and highest round; {@code timeRatio*} is this cache's step time over the first
   * cache's, round by round.
   */
  public record Row(String cache, long bytesPerStep, double medianMs, double gbps,
      double shareMedian, double shareMin, double shareMax,
      double timeRatioMedian, double timeRatioMin, double timeRatioMax) {}

  /**
   * The rounds' reads (each the mean of the passes before and after the round's decode steps):
   * median, lowest and highest (GB/s); and one row per cache.
   */
  public record Result(int threads, int rounds, int stepsPerRound, long bufferBytes,
      double readGBpsMedian, double readGBpsMin, double readGBpsMax, List<Row> rows) {}

  /**
   * Measures {@code cases} with {@code kernel} against {@code probe}. Every cache is first decoded
   * {@code warmupSteps} times so that the timed rounds run compiled code.
   */
  public static Result measure(AttentionKernel kernel, AttentionShape shape, List<Case> cases,
      ReadProbe probe, int rounds, int steps, int warmupSteps) {
    if (cases.isEmpty()) {
      throw new IllegalArgumentException("cases must not be empty");
    }
    if (rounds < 1 || steps < 1 || warmupSteps < 0) {
      throw new IllegalArgumentException("rounds and steps must be >= 1 and warmupSteps >= 0, got "
          + rounds + ", " + steps + ", " + warmupSteps);
    }
    AttentionOptions options = AttentionOptions.defaults();
    float[] q = new float[shape.queryStride()];
    float[] out = new float[q.length];
    SplittableRandom random = new SplittableRandom(7);
    for (int i = 0; i < q.length; i++) {
      q[i] = (float) (random.nextDouble() * 2 - 1);
    }
    for (Case c : cases) {
      Runnable step = () -> kernel.decode(shape, options, q, 0, c.view(), out, 0);
      for (int i = 0; i < warmupSteps; i++) {
        step.run();
      }
      // A count of steps alone left short steps (MQA, small contexts) uncompiled: the JIT's
      // compilation of the vector loops outlasts them. Then on until the JIT is quiet.
      StepTimer.warmUp(step, WARMUP_NANOS);
    }
    int n = cases.size();
    double[][] millis = new double[n][rounds];
    double[] read = new double[rounds];
    double[] stepNanos = new double[steps];
    for (int round = 0; round < rounds; round++) {
      double before = probe.readGBps();
      for (int c = 0; c < n; c++) {
        KvView view = cases.get(c).view();
        for (int s = 0; s < steps; s++) {
          long t0 = System.nanoTime();
          kernel.decode(shape, options, q, 0, view, out, 0);
          stepNanos[s] = System.nanoTime() - t0;
        }
        millis[c][round] = Roofline.median(stepNanos) / 1e6;
      }
      read[round] = (before + probe.readGBps()) / 2;
    }
    List<Row> rows = new ArrayList<>(n);
    for (int c = 0; c < n; c++) {
      long bytes = 2L * cases.get(c).view().length() * cases.get(c).view().tokenBytes();
      double[] share = new double[rounds];
      double[] ratio = new double[rounds];
      for (int r = 0; r < rounds; r++) {
        share[r] = bytes / (millis[c][r] * 1e6) / read[r];
        ratio[r] = millis[c][r] / millis[0][r];
      }
      double ms = Roofline.median(millis[c]);
      rows.add(new Row(cases.get(c).name(), bytes, ms, bytes / (ms * 1e6),
          Roofline.median(share), min(share), max(share),
          Roofline.median(ratio), min(ratio), max(ratio)));
    }
    return new Result(probe.threads(), rounds, steps, probe.bufferBytes(), Roofline.median(read),
        min(read), max(read), List.copyOf(rows));
  }

  private static double min(double[] a) {
    double m = Double.POSITIVE_INFINITY;
    for (double x : a) {
      m = Math.min(m, x);
    }
    return m;
  }

  private static double max(double[] a) {
    double m = Double.NEGATIVE_INFINITY;
    for (double x : a) {
      m = Math.max(m, x);
    }
    return m;
  }
}
