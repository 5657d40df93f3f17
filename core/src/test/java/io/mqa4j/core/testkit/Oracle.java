package io.mqa4j.core.testkit;

import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;

/**
 * The float64 oracle: attention computed in double precision with a two-pass softmax, straight
 * from the definitions in {@link AttentionOptions}. Every kernel is judged against it.
 */
public final class Oracle {
  private Oracle() {}

  /** Attention of {@code nq} queries over {@code nk} keys; layouts as in AttentionKernel. */
  public static double[] attend(AttentionShape shape, AttentionOptions options, int nq, int nk,
      float[] q, float[] k, float[] v) {
    int heads = shape.queryHeads();
    int kvHeads = shape.kvHeads();
    int d = shape.headDim();
    double scale = options.scaleFor(d);
    double[] out = new double[nq * heads * d];
    double[] logits = new double[nk];
    for (int i = 0; i < nq; i++) {
      int p = nk - nq + i;
      for (int h = 0; h < heads; h++) {
        int g = h / shape.groupSize();
        double slope = options.alibiSlope(h, heads);
        double max = Double.NEGATIVE_INFINITY;
        boolean any = false;
        for (int j = 0; j < nk; j++) {
          boolean visible = true;
          if (options.causal() && j > p) visible = false;
          if (options.slidingWindow() > 0 && j <= p - options.slidingWindow()) visible = false;
          if (!visible) {
            logits[j] = Double.NaN;
            continue;
          }
          double dot = 0;
          for (int x = 0; x < d; x++) {
            dot += (double) q[(i * heads + h) * d + x] * k[(j * kvHeads + g) * d + x];
          }
          double s = scale * dot;
          if (options.softCap() > 0) {
            s = options.softCap() * Math.tanh(s / options.softCap());
          }
          s += slope * (j - p);
          logits[j] = s;
          max = Math.max(max, s);
          any = true;
        }
        if (!any) {
          continue; // zeros
        }
        double sink = options.sink(h);
        double top = Math.max(max, sink);
        double denominator = Math.exp(sink - top);
        for (int j = 0; j < nk; j++) {
          if (!Double.isNaN(logits[j])) denominator += Math.exp(logits[j] - top);
        }
        for (int j = 0; j < nk; j++) {
          if (Double.isNaN(logits[j])) continue;
          double w = Math.exp(logits[j] - top) / denominator;
          for (int x = 0; x < d; x++) {
            out[(i * heads + h) * d + x] += w * v[(j * kvHeads + g) * d + x];
          }
        }
      }
    }
    return out;
  }
}
