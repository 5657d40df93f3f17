package io.mqa4j.core;

import io.mqa4j.core.spi.Checks;
import java.util.Arrays;
import java.util.Objects;

/**
 * How logits are formed and masked. Immutable; every {@code with…} method returns a copy.
 *
 * <p>For query {@code i} of {@code nq} queries over {@code nk} keys, the query's position is
 * {@code p = nk - nq + i} (queries are the last {@code nq} tokens, bottom-right aligned as in
 * FlashAttention). For query head {@code h} and key {@code j} the logit is built in this order:
 * <ol>
 *   <li>{@code s = scale * (q · k_j)}, scale by default {@code 1 / sqrt(headDim)};</li>
 *   <li>soft-cap: {@code s = c * tanh(s / c)};</li>
 *   <li>ALiBi: {@code s += slope_h * (j - p)};</li>
 *   <li>masking: causal keeps {@code j <= p}; a sliding window of {@code W} keeps
 *       {@code p - W < j <= p} (so it implies causal).</li>
 * </ol>
 * An attention sink adds one logit per query head to the softmax denominator only. A row that
 * sees no key outputs zeros, with or without a sink.
 */
public final class AttentionOptions {

  private static final AttentionOptions DEFAULTS =
      new AttentionOptions(Float.NaN, false, 0, 0f, false, null, null);

  private final float scale;
  private final boolean causal;
  private final int slidingWindow;
  private final float softCap;
  private final boolean alibi;
  private final float[] alibiSlopes;
  private final float[] sinks;
  /**
   * The standard slopes of each head count up to {@code SLOPE_TABLE_HEADS}, made on first use and
   * shared by every options object and thread, so that the hot path neither allocates nor
   * recomputes however many shapes share one options object (one slot per options object had
   * recomputed, and allocated, on every call of shapes taking turns). Past the table, each slope
   * is computed where it is asked for.
   */
  private static final int SLOPE_TABLE_HEADS = 1024;
  private static final java.util.concurrent.atomic.AtomicReferenceArray<float[]> STANDARD_SLOPES =
      new java.util.concurrent.atomic.AtomicReferenceArray<>(SLOPE_TABLE_HEADS + 1);

  private AttentionOptions(float scale, boolean causal, int slidingWindow, float softCap,
      boolean alibi, float[] alibiSlopes, float[] sinks) {
    this.scale = scale;
    this.causal = causal;
    this.slidingWindow = slidingWindow;
    this.softCap = softCap;
    this.alibi = alibi;
    this.alibiSlopes = alibiSlopes;
    this.sinks = sinks;
  }

  /** No mask, no soft-cap, no ALiBi, no sinks, scale {@code 1/sqrt(headDim)}. */
  public static AttentionOptions defaults() {
    return DEFAULTS;
  }

  /** Logits are {@code scale * q·k}; {@code scale} must be finite and positive. */
  public AttentionOptions withScale(float scale) {
    if (!(scale > 0) || Float.isInfinite(scale)) {
      throw new IllegalArgumentException("scale must be finite and positive, got " + scale);
    }
    return new AttentionOptions(scale, causal, slidingWindow, softCap, alibi, alibiSlopes, sinks);
  }

  /** Back to the default scale {@code 1/sqrt(headDim)}. */
  public AttentionOptions withDefaultScale() {
    return new AttentionOptions(Float.NaN, causal, slidingWindow, softCap, alibi, alibiSlopes, sinks);
  }

  /** Causal masking: query at position {@code p} sees keys {@code j <= p}. */
  public AttentionOptions withCausal(boolean causal) {
    return new AttentionOptions(scale, causal, slidingWindow, softCap, alibi, alibiSlopes, sinks);
  }

  /** Sliding window of {@code window} keys ({@code p - window < j <= p}); 0 turns it off. */
  public AttentionOptions withSlidingWindow(int window) {
    if (window < 0) {
      throw new IllegalArgumentException("slidingWindow must be >= 0 (0 = off), got " + window);
    }
    return new AttentionOptions(scale, causal, window, softCap, alibi, alibiSlopes, sinks);
  }

  /** Soft-cap {@code c}: logits become {@code c * tanh(s / c)}; 0 turns it off. */
  public AttentionOptions withSoftCap(float cap) {
    if (!(cap >= 0) || Float.isInfinite(cap)) {
      throw new IllegalArgumentException("softCap must be finite and >= 0 (0 = off), got " + cap);
    }
    // -0 is off as 0 is, and equal options should compare equal: + 0f makes it 0.
    return new AttentionOptions(scale, causal, slidingWindow, cap + 0f, alibi, alibiSlopes, sinks);
  }

  /** ALiBi with the standard slopes of Press et al. for the layer's number of query heads. */
  public AttentionOptions withAlibi() {
    return new AttentionOptions(scale, causal, slidingWindow, softCap, true, null, sinks);
  }

  /** ALiBi with one given slope per query head. */
  public AttentionOptions withAlibiSlopes(float... slopes) {
    Objects.requireNonNull(slopes, "slopes");
    for (int h = 0; h < slopes.length; h++) {
      if (!Float.isFinite(slopes[h])) {
        throw new IllegalArgumentException("alibi slope " + h + " must be finite, got " + slopes[h]);
      }
    }
    return new AttentionOptions(scale, causal, slidingWindow, softCap, true,
        withoutNegativeZero(slopes), sinks);
  }

  /** No ALiBi bias. */
  public AttentionOptions withoutAlibi() {
    return new AttentionOptions(scale, causal, slidingWindow, softCap, false, null, sinks);
  }

  /**
   * One sink logit per query head, joining the softmax denominator only; {@code null} turns sinks
   * off. A sink logit is used as given: the scale, the soft-cap and ALiBi apply to the keys'
   * logits, not to it (as gpt-oss's learned sinks are trained).
   */
  public AttentionOptions withSinks(float... sinks) {
    if (sinks != null) {
      for (int h = 0; h < sinks.length; h++) {
        if (Float.isNaN(sinks[h]) || sinks[h] == Float.POSITIVE_INFINITY) {
          throw new IllegalArgumentException("sink " + h + " must be a number below +inf, got " + sinks[h]);
        }
      }
    }
    return new AttentionOptions(scale, causal, slidingWindow, softCap, alibi, alibiSlopes,
        sinks == null ? null : withoutNegativeZero(sinks));
  }

  /** A copy with -0 as 0, which act alike: equal options then compare equal. */
  private static float[] withoutNegativeZero(float[] values) {
    float[] copy = values.clone();
    for (int i = 0; i < copy.length; i++) {
      copy[i] += 0f;
    }
    return copy;
  }

  /** Whether a scale was set; otherwise {@link #scaleFor(int)} gives {@code 1/sqrt(headDim)}. */
  public boolean hasExplicitScale() {
    return !Float.isNaN(scale);
  }

  /** The logit scale for heads of {@code headDim} elements. */
  public float scaleFor(int headDim) {
    if (headDim < 1) {
      throw new IllegalArgumentException("headDim must be >= 1, got " + headDim);
    }
    return Float.isNaN(scale) ? (float) (1.0 / Math.sqrt(headDim)) : scale;
  }

  /** Whether future keys are masked (also true when a sliding window is set). */
  public boolean causal() {
    return causal || slidingWindow > 0;
  }

  /** The sliding window in keys, 0 when off. */
  public int slidingWindow() {
    return slidingWindow;
  }

  /** The soft-cap, 0 when off. */
  public float softCap() {
    return softCap;
  }

  /** Whether an ALiBi bias is added. */
  public boolean alibi() {
    return alibi;
  }

  /** Whether sink logits were given. */
  public boolean hasSinks() {
    return sinks != null;
  }

  /** The sink logit of query head {@code queryHead}, or negative infinity without sinks. */
  public float sink(int queryHead) {
    if (sinks == null) {
      return Float.NEGATIVE_INFINITY;
    }
    checkHead(queryHead, sinks.length, "sinks given");
    return sinks[queryHead];
  }

  private static void checkHead(int queryHead, int heads, String what) {
    if (queryHead < 0 || queryHead >= heads) {
      throw new IndexOutOfBoundsException("queryHead must be in [0, " + heads + ") (" + heads + " "
          + what + "), got " + queryHead);
    }
  }

  /** The ALiBi slope of {@code queryHead} in a layer of {@code queryHeads} heads, 0 without ALiBi. */
  public float alibiSlope(int queryHead, int queryHeads) {
    if (!alibi) {
      return 0f;
    }
    if (alibiSlopes != null) {
      checkHead(queryHead, alibiSlopes.length, "slopes given");
      return alibiSlopes[queryHead];
    }
    if (queryHeads < 1) {
      throw new IllegalArgumentException("queryHeads must be >= 1, got " + queryHeads);
    }
    checkHead(queryHead, queryHeads, "query heads");
    if (queryHeads > SLOPE_TABLE_HEADS) {
      return standardSlope(queryHead, queryHeads);
    }
    float[] slopes = STANDARD_SLOPES.get(queryHeads);
    if (slopes == null) {
      slopes = computeSlopes(queryHeads);
      STANDARD_SLOPES.set(queryHeads, slopes);
    }
    return slopes[queryHead];
  }

  /** First key index visible to a query at {@code position}. */
  public int firstVisibleKey(int position) {
    // In long: a negative position (a query before every key) less a wide window would wrap.
    return slidingWindow > 0 ? (int) Math.max(0L, (long) position - slidingWindow + 1) : 0;
  }

  /** One past the last key index visible to a query at {@code position} among {@code numKeys}. */
  public int endVisibleKey(int position, int numKeys) {
    return causal() ? Math.max(0, Math.min(numKeys, position + 1)) : numKeys;
  }

  /**
   * Keys that some query of a call of {@code numQueries} queries, the last {@code numQueries}
   * positions among {@code numKeys} keys, can see: what a kernel that reads each row once reads.
   */
  public long visibleKeys(int numQueries, int numKeys) {
    int first = firstVisibleKey(numKeys - numQueries);
    int end = endVisibleKey(numKeys - 1, numKeys);
    return Math.max(0, end - first);
  }

  /**
   * Applies soft-cap and ALiBi to a scaled logit {@code s} of key {@code key} for a query at
   * {@code position} whose head has ALiBi slope {@code slope}.
   */
  public float shapeLogit(float s, float slope, int key, int position) {
    if (softCap > 0) {
      s = softCap * (float) Math.tanh(s / softCap);
    }
    return s + slope * (key - position);
  }

  /** Checks the per-head arrays against {@code shape}; throws naming the mismatch. */
  public void checkAgainst(AttentionShape shape) {
    if (alibiSlopes != null && alibiSlopes.length != shape.queryHeads()) {
      throw new IllegalArgumentException("alibi slopes have "
          + Checks.count(alibiSlopes.length, "entry", "entries")
          + " but the shape has queryHeads=" + shape.queryHeads());
    }
    if (sinks != null && sinks.length != shape.queryHeads()) {
      throw new IllegalArgumentException("sinks have " + Checks.count(sinks.length, "entry", "entries")
          + " but the shape has queryHeads=" + shape.queryHeads());
    }
  }

  /**
   * The ALiBi slopes of Press et al. for {@code heads} heads: {@code 2^(-8(h+1)/heads)} when
   * {@code heads} is a power of two; otherwise those of the largest power of two {@code n} below
   * it, followed by every other slope of {@code 2n} heads.
   */
  public static float[] standardAlibiSlopes(int heads) {
    if (heads <= 0) {
      throw new IllegalArgumentException("heads must be positive, got " + heads);
    }
    return computeSlopes(heads);
  }

  private static float[] computeSlopes(int heads) {
    float[] slopes = new float[heads];
    for (int h = 0; h < heads; h++) {
      slopes[h] = standardSlope(h, heads);
    }
    return slopes;
  }

  private static float standardSlope(int h, int heads) {
    int n = Integer.highestOneBit(heads);
    if (h < n) {
      return (float) Math.pow(2.0, -8.0 * (h + 1) / n);
    }
    // Heads beyond the power of two take the odd-numbered slopes of twice as many heads.
    int k = 2 * (h - n);
    return (float) Math.pow(2.0, -8.0 * (k + 1) / (2.0 * n));
  }

  /**
   * Equal when they mask and score alike in every layer: a sliding window equals the same window
   * made causal (though {@code withSlidingWindow(0)} then gives unequal options, causal or not,
   * since each remembers what it was given). Equality does not know the layer's shape, so options
   * that agree only for some shapes differ: {@link #withAlibi()} and {@link #withAlibiSlopes}
   * given the standard slopes, the default scale and {@code withScale(1 / sqrt(headDim))}.
   */
  @Override
  public boolean equals(Object o) {
    return o instanceof AttentionOptions other
        && Float.compare(scale, other.scale) == 0
        && causal() == other.causal()
        && slidingWindow == other.slidingWindow
        && Float.compare(softCap, other.softCap) == 0
        && alibi == other.alibi
        && Arrays.equals(alibiSlopes, other.alibiSlopes)
        && Arrays.equals(sinks, other.sinks);
  }

  @Override
  public int hashCode() {
    return Objects.hash(scale, causal(), slidingWindow, softCap, alibi,
        Arrays.hashCode(alibiSlopes), Arrays.hashCode(sinks));
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("AttentionOptions[");
    sb.append(Float.isNaN(scale) ? "scale=1/sqrt(d)" : "scale=" + scale);
    if (causal()) sb.append(", causal"); // as equals sees it: a window is causal
    if (slidingWindow > 0) sb.append(", window=").append(slidingWindow);
    if (softCap > 0) sb.append(", softCap=").append(softCap);
    if (alibi) sb.append(alibiSlopes == null ? ", alibi" : ", alibi=" + Arrays.toString(alibiSlopes));
    if (sinks != null) sb.append(", sinks=").append(Arrays.toString(sinks));
    return sb.append(']').toString();
  }
}
