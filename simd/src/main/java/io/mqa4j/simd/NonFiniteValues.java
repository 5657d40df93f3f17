package io.mqa4j.simd;

import static io.mqa4j.simd.VectorConstants.LANES;
import static io.mqa4j.simd.VectorConstants.SPECIES;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The weighted sum of a tile whose values hold a NaN or an infinity where some row may not look.
 * The vector loops multiply every key of a tile into every row, a key a row cannot see with
 * weight 0; that is exact while values are finite, but 0 times an infinity is NaN, and then a
 * token a causal row must not see (an f16 value past 65504 is stored as infinity) would turn
 * the row to NaN. Such tiles are rare, so the values are checked only in tiles where some row
 * has a key of weight 0 by its mask or by a logit of minus infinity, and the sum that follows
 * is plain scalar code that skips the weight-0 keys, as the scalar kernel skips the keys it masks
 * and those whose logit is minus infinity.
 */
final class NonFiniteValues {
  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

  private NonFiniteValues() {}

  /**
   * Whether {@code scores[from, to)} holds minus infinity: a key whose logit is minus infinity
   * gets weight 0 as a masked one does, and the scalar kernel skips it.
   */
  static boolean anyMinusInfinity(float[] scores, int from, int to) {
    int i = from;
    for (int end = from + SPECIES.loopBound(to - from); i < end; i += LANES) {
      if (FloatVector.fromArray(SPECIES, scores, i)
          .compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY).anyTrue()) {
        return true;
      }
    }
    for (; i < to; i++) {
      if (scores[i] == Float.NEGATIVE_INFINITY) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether any of the {@code n} rows of {@code headDim} floats, row {@code j} at byte
   * {@code base + j * stride} of {@code values}, holds a NaN or an infinity.
   */
  static boolean any(MemorySegment values, long base, long stride, int n, int headDim) {
    // x * 0 is 0 for every finite x and NaN otherwise: four independent sums of those products
    // stay 0 exactly when every value is finite.
    float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
    int x4 = headDim & ~3;
    for (int j = 0; j < n; j++) {
      long row = base + j * stride;
      for (int x = 0; x < x4; x += 4) {
        long at = row + 4L * x;
        s0 += values.get(F32, at) * 0f;
        s1 += values.get(F32, at + 4) * 0f;
        s2 += values.get(F32, at + 8) * 0f;
        s3 += values.get(F32, at + 12) * 0f;
      }
      for (int x = x4; x < headDim; x++) {
        s0 += values.get(F32, row + 4L * x) * 0f;
      }
    }
    return s0 + s1 + s2 + s3 != 0f;
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
