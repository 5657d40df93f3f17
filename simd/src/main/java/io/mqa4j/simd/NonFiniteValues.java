package io.mqa4j.simd;

import static io.mqa4j.simd.VectorConstants.INTS;
import static io.mqa4j.simd.VectorConstants.LANES;
import static io.mqa4j.simd.VectorConstants.ORDER;
import static io.mqa4j.simd.VectorConstants.SPECIES;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The weighted sum of a tile whose values hold a NaN or an infinity where some row may not look.
 * The vector loops multiply every key of a tile into every row, a key a row cannot see with
 * weight 0; that is exact while values are finite, but 0 times an infinity is NaN, and then a
 * token a causal row must not see (an f16 value past 65504 is stored as infinity) would turn
 * the row to NaN. Such tiles are rare, so the values are checked only in tiles where some row
 * has a key of weight 0 (by its mask, a logit of minus infinity, or an exponential that
 * underflowed), and the sum that follows is plain scalar code that skips the weight-0 keys, as
 * the scalar kernel skips the keys it masks and those whose logit is minus infinity. A visible
 * key whose weight underflowed is skipped too, where the scalar kernel adds 0 times its value.
 */
final class NonFiniteValues {
  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

  private NonFiniteValues() {}

  /**
   * Whether {@code weights[from, to)}, one row's weights of the keys it sees, holds a 0: a key
   * whose shaped logit is minus infinity (or whose exponential underflowed) gets weight 0, as a
   * masked one does.
   */
  static boolean anyZero(float[] weights, int from, int to) {
    int i = from;
    for (int end = from + SPECIES.loopBound(Math.max(0, to - from)); i < end; i += LANES) {
      if (FloatVector.fromArray(SPECIES, weights, i).compare(VectorOperators.EQ, 0f).anyTrue()) {
        return true;
      }
    }
    for (; i < to; i++) {
      if (weights[i] == 0f) {
        return true;
      }
    }
    return false;
  }

  /**
   * As {@link #anyZero} over rows {@code [0, rows)} of keys {@code [0, n)}, row {@code r}
   * starting at {@code r * rowStride}.
   */
  static boolean anyZeroInRows(float[] weights, int rowStride, int rows, int n) {
    for (int r = 0; r < rows; r++) {
      if (anyZero(weights, r * rowStride, r * rowStride + n)) {
        return true;
      }
    }
    return false;
  }

  /**
   * As {@link #anyZero} over a whole block of weights, {@code weights[from, to)}, every one of
   * them a weight some row sees (no padding), and true as well when one is a NaN whose sign bit
   * is set. Weights are not negative, so as integers they order as they do as floats, and an
   * integer minimum is one exact instruction where a float one, with Java's NaN and -0 rules, is
   * several; four chains keep its latency hidden.
   */
  static boolean anyZeroBlock(float[] weights, int from, int to) {
    IntVector m0 = IntVector.broadcast(INTS, Integer.MAX_VALUE), m1 = m0, m2 = m0, m3 = m0;
    int i = from;
    for (int end = from + ((to - from) & ~(4 * LANES - 1)); i < end; i += 4 * LANES) {
      m0 = m0.min(FloatVector.fromArray(SPECIES, weights, i).reinterpretAsInts());
      m1 = m1.min(FloatVector.fromArray(SPECIES, weights, i + LANES).reinterpretAsInts());
      m2 = m2.min(FloatVector.fromArray(SPECIES, weights, i + 2 * LANES).reinterpretAsInts());
      m3 = m3.min(FloatVector.fromArray(SPECIES, weights, i + 3 * LANES).reinterpretAsInts());
    }
    // A NaN with its sign bit set (0 x -inf gives one) is a negative integer: it too sends the
    // tile to the check, rather than hide a 0 elsewhere in the block.
    if (m0.min(m1).min(m2.min(m3)).reduceLanes(VectorOperators.MIN) <= 0) {
      return true;
    }
    for (; i < to; i++) {
      if (weights[i] == 0f) {
        return true;
      }
    }
    return false;
  }

  /**
   * As {@link #anyZero} for weights stored key-major with the lanes across rows,
   * {@code st[j * rowPad + r]}, over keys {@code [0, n)} and rows {@code [0, rows)}.
   */
  static boolean anyZeroAcrossRows(float[] st, int rowPad, int rows, int n) {
    for (int r = 0; r < rows; r += LANES) {
      VectorMask<Float> real = SPECIES.indexInRange(r, rows);
      for (int j = 0; j < n; j++) {
        if (FloatVector.fromArray(SPECIES, st, j * rowPad + r)
            .compare(VectorOperators.EQ, 0f, real).anyTrue()) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Whether any of the {@code n} rows of {@code headDim} floats, row {@code j} at byte
   * {@code base + j * stride} of {@code values}, holds a NaN or an infinity.
   */
  static boolean any(MemorySegment values, long base, long stride, int n, int headDim) {
    // x * 0 is 0 for every finite x and NaN otherwise: the sums of those products stay 0 exactly
    // when every value is finite.
    FloatVector zeros = FloatVector.zero(SPECIES);
    float tail = 0f;
    int bound = SPECIES.loopBound(headDim);
    for (int j = 0; j < n; j++) {
      long row = base + j * stride;
      for (int x = 0; x < bound; x += LANES) {
        zeros = zeros.add(FloatVector.fromMemorySegment(SPECIES, values, row + 4L * x, ORDER)
            .mul(0f));
      }
      for (int x = bound; x < headDim; x++) {
        tail += values.get(F32, row + 4L * x) * 0f;
      }
    }
    return zeros.reduceLanes(VectorOperators.ADD) + tail != 0f;
  }

  /**
   * {@code acc[r * rowStride + x * elementStride] += p[r * pRowStride + j * pKeyStride] * v_j[x]}
   * for rows {@code [0, rows)} and keys {@code [0, n)} whose weight is not 0, value {@code j} at
   * byte {@code base + j * stride} of {@code values}: row-major accumulators have element stride
   * 1, transposed ones row stride 1.
   */
  static void accumulate(float[] acc, int accBase, int rowStride, int elementStride, int rows,
      int headDim, float[] p, int pBase, int pRowStride, int pKeyStride, MemorySegment values,
      long base, long stride, int n) {
    for (int r = 0; r < rows; r++) {
      for (int j = 0; j < n; j++) {
        float w = p[pBase + r * pRowStride + j * pKeyStride];
        if (w == 0f) {
          continue; // masked, a logit of minus infinity, or an exponential that underflowed
        }
        long row = base + j * stride;
        for (int x = 0; x < headDim; x++) {
          acc[accBase + r * rowStride + x * elementStride] += w * values.get(F32, row + 4L * x);
        }
      }
    }
  }
}
