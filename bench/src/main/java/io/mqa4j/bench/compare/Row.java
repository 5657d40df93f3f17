package io.mqa4j.bench.compare;

import java.util.List;

/**
 * One measured configuration. For decode a step is one query token over {@code context} cached
 * keys; for prefill it is the whole causal prefill of {@code context} tokens. Byte counts are
 * exact; rates use 10^9 (GB/s, GFLOP/s).
 *
 * @param microsPerStep median over the timed steps
 * @param microsP10 10th percentile, the spread's lower end
 * @param microsP90 90th percentile, the spread's upper end
 * @param samples timed samples behind the median
 * @param kvBytesPerToken K and V bytes one token occupies in the cache (all KV heads)
 * @param kvBytesReadPerStep K and V bytes a step reads, each cached row once
 * @param flopsPerStep floating-point operations a step does (an FMA counts two)
 * @param rooflineShare attainable time (bytes at the read bandwidth or flops at the FMA peak,
 *     whichever is longer) over the measured time; 1.0 is the machine's limit
 * @param speedupVsMha the matching MHA row's time over this row's (same phase, kernel, type,
 *     context, threads); null when there is no MHA row
 * @param roundMicros when {@code compare --rounds} timed the case more than once, each round's
 *     median in the order the rounds ran (the row's other figures are the median round's); null
 *     for a single timing
 */
public record Row(String phase, String layout, int queryHeads, int kvHeads, int headDim,
    int context, String kernel, String dtype, int threads, double microsPerStep, double microsP10,
    double microsP90, int samples, double tokensPerSec, long kvBytesPerToken,
    long kvBytesReadPerStep, long flopsPerStep, double gbPerSec, double gflopsPerSec,
    Double rooflineShare, Double speedupVsMha, List<Double> roundMicros) {

  public Row {
    roundMicros = roundMicros == null ? null : List.copyOf(roundMicros);
  }

  /** A single timing: no rounds. */
  public Row(String phase, String layout, int queryHeads, int kvHeads, int headDim, int context,
      String kernel, String dtype, int threads, double microsPerStep, double microsP10,
      double microsP90, int samples, double tokensPerSec, long kvBytesPerToken,
      long kvBytesReadPerStep, long flopsPerStep, double gbPerSec, double gflopsPerSec,
      Double rooflineShare, Double speedupVsMha) {
    this(phase, layout, queryHeads, kvHeads, headDim, context, kernel, dtype, threads,
        microsPerStep, microsP10, microsP90, samples, tokensPerSec, kvBytesPerToken,
        kvBytesReadPerStep, flopsPerStep, gbPerSec, gflopsPerSec, rooflineShare, speedupVsMha,
        null);
  }

  /** This row with its share of the roofline and speed-up over MHA filled in. */
  Row with(Double share, Double speedup) {
    return new Row(phase, layout, queryHeads, kvHeads, headDim, context, kernel, dtype, threads,
        microsPerStep, microsP10, microsP90, samples, tokensPerSec, kvBytesPerToken,
        kvBytesReadPerStep, flopsPerStep, gbPerSec, gflopsPerSec, share, speedup, roundMicros);
  }

  /** This row with each round's median attached. */
  Row withRounds(List<Double> micros) {
    return new Row(phase, layout, queryHeads, kvHeads, headDim, context, kernel, dtype, threads,
        microsPerStep, microsP10, microsP90, samples, tokensPerSec, kvBytesPerToken,
        kvBytesReadPerStep, flopsPerStep, gbPerSec, gflopsPerSec, rooflineShare, speedupVsMha,
        micros);
  }

  /** What makes two rows one case of the table: two timings of one case cannot both be shown. */
  List<Object> caseKey() {
    return List.of(phase, layout, queryHeads, kvHeads, headDim, context, kernel, dtype,
        threads);
  }

  /** The key that rows compared against each other share, all but the layout. */
  String peerKey() {
    return phase + '|' + kernel + '|' + dtype + '|' + context + '|' + threads + '|' + queryHeads
        + '|' + headDim;
  }
}
