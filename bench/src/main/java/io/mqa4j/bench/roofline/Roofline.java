package io.mqa4j.bench.roofline;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.CyclicBarrier;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Measures the two ceilings a kernel can hit on this machine: the read bandwidth of memory (a
 * STREAM-like sum over an off-heap buffer far larger than the last-level cache) and the FP32 FMA
 * peak (independent Vector API FMA chains, enough of them to cover the FMA latency).
 */
public final class Roofline {

  /** The measured ceilings; bandwidth in GB/s (10^9 bytes), compute in GFLOP/s (an FMA is two). */
  public record Result(double readGBps, double fmaGflops, double readGBpsOneThread,
      double fmaGflopsOneThread, int threads, int speciesBits, int lanes, long bufferBytes) {}

  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  /** Independent accumulators: FMA latency (4 cycles) times pipes (2), with room to spare. */
  private static final int CHAINS = 12;

  private static final long FMA_BLOCK = 100_000;

  private Roofline() {}

  /** Medians of {@code repeats} passes with {@code threads} threads and with one, reading a buffer of {@code bufferBytes}. */
  public static Result measure(int threads, long bufferBytes, int repeats) {
    try (Arena arena = Arena.ofShared()) {
      MemorySegment buffer = arena.allocate(bufferBytes, 4096);
      buffer.fill((byte) 0x3c); // touch every page before timing
      warmUp(buffer);
      double readAll = medianReadGBps(buffer, threads, repeats);
      // With one thread the one-thread figures are the same measure: one reading serves both, so
      // the ceiling shown is the one shares are taken against.
      double readOne = threads == 1 ? readAll : medianReadGBps(buffer, 1, repeats);
      double fmaAll = medianFmaGflops(threads, repeats);
      double fmaOne = threads == 1 ? fmaAll : medianFmaGflops(1, repeats);
      return new Result(readAll, fmaAll, readOne, fmaOne, threads, SPECIES.vectorBitSize(),
          SPECIES.length(), bufferBytes);
    }
  }

  /**
   * Gets both loops compiled on short calls first. Left to compile during a timed pass, each
   * would run its one long call interpreted and then in on-stack-replaced code that boxes its
   * vectors, which took seconds per pass.
   */
  static void warmUp(MemorySegment buffer) {
    long chunk = wholeSteps(Math.min(buffer.byteSize(), 64L << 10));
    float keep = 0f;
    for (int i = 0; i < 20_000; i++) {
      keep += sum(buffer, 0, chunk);
      keep += fmaBlock(1_000);
    }
    if (keep == 42f) System.out.print("");
  }

  private static double medianReadGBps(MemorySegment buffer, int threads, int repeats) {
    double[] rates = new double[repeats];
    for (int rep = -1; rep < repeats; rep++) {
      double rate = readGBps(buffer, threads);
      if (rep >= 0) { // the first pass warms the JIT
        rates[rep] = rate;
      }
    }
    return median(rates);
  }

  /** One pass of {@link #sum} over {@code buffer}, split between {@code threads} threads. */
  static double readGBps(MemorySegment buffer, int threads) {
    long slice = wholeSteps(buffer.byteSize() / threads);
    long nanos = runParallel(threads, t -> {
      float s = sum(buffer, t * slice, (t + 1) * slice);
      if (s == 42f) System.out.print(""); // keeps the sum alive
    });
    return slice * (double) threads / nanos;
  }

  /** The median: on a shared machine the best pass can be an outlier, the median is not. */
  static double median(double[] values) {
    double[] sorted = values.clone();
    java.util.Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  /** {@code bytes} rounded down to whole steps of {@link #sum}'s loop (four vectors). */
  private static long wholeSteps(long bytes) {
    long step = 4L * SPECIES.vectorByteSize();
    return bytes / step * step;
  }

  static float sum(MemorySegment m, long from, long to) {
    long step = SPECIES.vectorByteSize();
    ByteOrder order = ByteOrder.nativeOrder();
    FloatVector a = FloatVector.zero(SPECIES), b = a, c = a, d = a;
    for (long o = from; o < to; o += 4 * step) {
      a = a.add(FloatVector.fromMemorySegment(SPECIES, m, o, order));
      b = b.add(FloatVector.fromMemorySegment(SPECIES, m, o + step, order));
      c = c.add(FloatVector.fromMemorySegment(SPECIES, m, o + 2 * step, order));
      d = d.add(FloatVector.fromMemorySegment(SPECIES, m, o + 3 * step, order));
    }
    return a.add(b).add(c).add(d).reduceLanes(VectorOperators.ADD);
  }

  private static double medianFmaGflops(int threads, int repeats) {
    long iterations = 20_000_000;
    double[] rates = new double[repeats];
    for (int rep = -1; rep < repeats; rep++) {
      long nanos = runParallel(threads, t -> {
        float s = fmaChains(iterations);
        if (s == 42f) System.out.print("");
      });
      if (rep >= 0) {
        double flops = 2.0 * CHAINS * SPECIES.length() * iterations * threads;
        rates[rep] = flops / nanos;
      }
    }
    return median(rates);
  }

  /** {@code iterations} steps of twelve FMA chains, as calls short enough to compile whole. */
  static float fmaChains(long iterations) {
    float keep = 0f;
    for (long done = 0; done < iterations; done += FMA_BLOCK) {
      keep += fmaBlock(Math.min(FMA_BLOCK, iterations - done));
    }
    return keep;
  }

  private static float fmaBlock(long iterations) {
    FloatVector m = FloatVector.broadcast(SPECIES, 0.999999f);
    FloatVector c = FloatVector.broadcast(SPECIES, 1e-7f);
    FloatVector a0 = FloatVector.broadcast(SPECIES, 1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
    FloatVector a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    for (long i = 0; i < iterations; i++) {
      a0 = a0.fma(m, c);
      a1 = a1.fma(m, c);
      a2 = a2.fma(m, c);
      a3 = a3.fma(m, c);
      a4 = a4.fma(m, c);
      a5 = a5.fma(m, c);
      a6 = a6.fma(m, c);
      a7 = a7.fma(m, c);
      a8 = a8.fma(m, c);
      a9 = a9.fma(m, c);
      a10 = a10.fma(m, c);
      a11 = a11.fma(m, c);
    }
    return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10)
        .add(a11).reduceLanes(VectorOperators.ADD);
  }

  interface Part {
    void run(int thread);
  }

  /**
   * Runs {@code part} on {@code threads} threads started together; returns the wall time from
   * their release to the last one's end. The clock starts in the barrier's action, as the threads
   * are released: the calling thread may not run again until the workers are done (two vCPUs,
   * two workers), and a clock started there read passes of a few milliseconds as nearly zero.
   */
  static long runParallel(int threads, Part part) {
    long[] released = new long[1];
    CyclicBarrier start = new CyclicBarrier(threads + 1, () -> released[0] = System.nanoTime());
    Thread[] workers = new Thread[threads];
    for (int t = 0; t < threads; t++) {
      int id = t;
      workers[t] = new Thread(() -> {
        try {
          start.await();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
        part.run(id);
      }, "mqa4j-roofline-" + t);
      workers[t].start();
    }
    try {
      start.await();
      for (Thread w : workers) {
        w.join();
      }
      // The barrier's action happens-before every await returns, so released[0] is visible here.
      return System.nanoTime() - released[0];
    } catch (Exception e) {
      throw new IllegalStateException("roofline measurement interrupted", e);
    }
  }
}
