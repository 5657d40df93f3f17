package io.mqa4j.simd;

import static io.mqa4j.simd.VectorConstants.LANES;
import static io.mqa4j.simd.VectorConstants.ORDER;
import static io.mqa4j.simd.VectorConstants.SPECIES;

import io.mqa4j.core.spi.ScalarOps;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The vector loops of one tile step: scores of a block of rows against a tile of keys, the
 * online-softmax update, and the weighted sum of the tile's values. A row is one query head of
 * one query; all rows of a block read the same KV head, so each key and value row loaded from
 * memory serves every row of the block (the whole group in decode).
 */
final class AttentionBody {
  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
  private static final FloatVector IOTA = FloatVector.zero(SPECIES).addIndex(1);
  private static final FloatVector NEG_INF = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);

  private AttentionBody() {}

  /** {@code scores[r * tile + j] = q_r · k_j} for rows {@code [0, rows)} and keys {@code [0, n)}. */
  static void scores(float[] q, MemorySegment qSeg, int rows, int headDim, MemorySegment[] keySegs,
      long[] keyOffsets, int n, float[] scores, int tile) {
    int bound = SPECIES.loopBound(headDim);
    for (int j = 0; j < n; j++) {
      MemorySegment k = keySegs[j];
      long kOff = keyOffsets[j];
      int r = 0;
      // Four rows at a time: each key vector loaded once feeds four FMAs.
      for (; r + 4 <= rows; r += 4) {
        int q0 = r * headDim, q1 = q0 + headDim, q2 = q1 + headDim, q3 = q2 + headDim;
        FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0;
        for (int x = 0; x < bound; x += LANES) {
          FloatVector kv = FloatVector.fromMemorySegment(SPECIES, k, kOff + 4L * x, ORDER);
          a0 = FloatVector.fromArray(SPECIES, q, q0 + x).fma(kv, a0);
          a1 = FloatVector.fromArray(SPECIES, q, q1 + x).fma(kv, a1);
          a2 = FloatVector.fromArray(SPECIES, q, q2 + x).fma(kv, a2);
          a3 = FloatVector.fromArray(SPECIES, q, q3 + x).fma(kv, a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD);
        float s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD);
        float s3 = a3.reduceLanes(VectorOperators.ADD);
        if (bound < headDim) { // scalar tail
          s0 += ScalarOps.dot(qSeg, 4L * q0, k, kOff, bound, headDim);
          s1 += ScalarOps.dot(qSeg, 4L * q1, k, kOff, bound, headDim);
          s2 += ScalarOps.dot(qSeg, 4L * q2, k, kOff, bound, headDim);
          s3 += ScalarOps.dot(qSeg, 4L * q3, k, kOff, bound, headDim);
        }
        scores[r * tile + j] = s0;
        scores[(r + 1) * tile + j] = s1;
        scores[(r + 2) * tile + j] = s2;
        scores[(r + 3) * tile + j] = s3;
      }
      for (; r < rows; r++) {
        int q0 = r * headDim;
        FloatVector a0 = FloatVector.zero(SPECIES);
        for (int x = 0; x < bound; x += LANES) {
          FloatVector kv = FloatVector.fromMemorySegment(SPECIES, k, kOff + 4L * x, ORDER);
          a0 = FloatVector.fromArray(SPECIES, q, q0 + x).fma(kv, a0);
        }
        scores[r * tile + j] = a0.reduceLanes(VectorOperators.ADD)
            + ScalarOps.dot(qSeg, 4L * q0, k, kOff, bound, headDim);
      }
    }
  }

  /**
   * Turns one row's raw scores over keys {@code [first, first + tile)} into softmax weights
   * relative to the row's updated running maximum, masking keys outside {@code [from, to)}.
   * Returns the factor by which the row's earlier sum and accumulator must be scaled, with the
   * new maximum in {@code state[0]} and the new sum in {@code state[1]}; returns 1 and leaves
   * zero weights when the row sees no key of the tile.
   */
  static float softmaxRow(float[] scores, int base, int tile, int first, int from, int to,
      int position, float softCap, float slope, float[] max, float[] sum, int r) {
    FloatVector vmax = NEG_INF;
    float firstMinusPos = first - position;
    for (int j = 0; j < tile; j += LANES) {
      FloatVector s = FloatVector.fromArray(SPECIES, scores, base + j);
      if (softCap > 0) {
        s = s.div(softCap).lanewise(VectorOperators.TANH).mul(softCap);
      }
      FloatVector offset = IOTA.add(j);
      if (slope != 0) {
        s = s.add(offset.add(firstMinusPos).mul(slope));
      }
      FloatVector key = offset.add(first);
      VectorMask<Float> hidden = key.lt(from).or(key.compare(VectorOperators.GE, to));
      s = s.blend(NEG_INF, hidden);
      s.intoArray(scores, base + j);
      vmax = vmax.max(s);
    }
    float tileMax = vmax.reduceLanes(VectorOperators.MAX);
    if (tileMax == Float.NEGATIVE_INFINITY) {
      for (int j = 0; j < tile; j += LANES) {
        FloatVector.zero(SPECIES).intoArray(scores, base + j);
      }
      return 1f;
    }
    float oldMax = max[r];
    float newMax = Math.max(oldMax, tileMax);
    FloatVector vsum = FloatVector.zero(SPECIES);
    for (int j = 0; j < tile; j += LANES) {
      FloatVector p = FloatVector.fromArray(SPECIES, scores, base + j).sub(newMax)
          .lanewise(VectorOperators.EXP);
      p.intoArray(scores, base + j);
      vsum = vsum.add(p);
    }
    float correction = (float) Math.exp(oldMax - newMax);
    sum[r] = sum[r] * correction + vsum.reduceLanes(VectorOperators.ADD);
    max[r] = newMax;
    return correction;
  }

  /** {@code acc[r] += sum_j p[r][j] * v_j} for rows {@code [0, rows)} and keys {@code [0, n)}. */
  static void accumulate(float[] acc, MemorySegment accSeg, int rows, int headDim, float[] p,
      int tile, MemorySegment[] valueSegs, long[] valueOffsets, int n) {
    int bound = SPECIES.loopBound(headDim);
    int r = 0;
    // Four rows at a time: each value vector loaded once feeds four FMAs.
    for (; r + 4 <= rows; r += 4) {
      int o0 = r * headDim, o1 = o0 + headDim, o2 = o1 + headDim, o3 = o2 + headDim;
      int p0 = r * tile, p1 = p0 + tile, p2 = p1 + tile, p3 = p2 + tile;
      for (int x = 0; x < bound; x += LANES) {
        FloatVector a0 = FloatVector.fromArray(SPECIES, acc, o0 + x);
        FloatVector a1 = FloatVector.fromArray(SPECIES, acc, o1 + x);
        FloatVector a2 = FloatVector.fromArray(SPECIES, acc, o2 + x);
        FloatVector a3 = FloatVector.fromArray(SPECIES, acc, o3 + x);
        for (int j = 0; j < n; j++) {
          FloatVector v = FloatVector.fromMemorySegment(SPECIES, valueSegs[j], valueOffsets[j] + 4L * x, ORDER);
          a0 = v.fma(FloatVector.broadcast(SPECIES, p[p0 + j]), a0);
          a1 = v.fma(FloatVector.broadcast(SPECIES, p[p1 + j]), a1);
          a2 = v.fma(FloatVector.broadcast(SPECIES, p[p2 + j]), a2);
          a3 = v.fma(FloatVector.broadcast(SPECIES, p[p3 + j]), a3);
        }
        a0.intoArray(acc, o0 + x);
        a1.intoArray(acc, o1 + x);
        a2.intoArray(acc, o2 + x);
        a3.intoArray(acc, o3 + x);
      }
    }
    for (; r < rows; r++) {
      int o0 = r * headDim;
      int p0 = r * tile;
      for (int x = 0; x < bound; x += LANES) {
        FloatVector a0 = FloatVector.fromArray(SPECIES, acc, o0 + x);
        for (int j = 0; j < n; j++) {
          FloatVector v = FloatVector.fromMemorySegment(SPECIES, valueSegs[j], valueOffsets[j] + 4L * x, ORDER);
          a0 = v.fma(FloatVector.broadcast(SPECIES, p[p0 + j]), a0);
        }
        a0.intoArray(acc, o0 + x);
      }
    }
    if (bound < headDim) { // scalar tail of every row
      for (int row = 0; row < rows; row++) {
        for (int j = 0; j < n; j++) {
          ScalarOps.axpy(p[row * tile + j], valueSegs[j], valueOffsets[j], accSeg,
              4L * row * headDim, bound, headDim);
        }
      }
    }
  }

  /** {@code a[off, off + len) *= c}. */
  static void scale(float[] a, MemorySegment aSeg, int off, int len, float c) {
    int bound = SPECIES.loopBound(len);
    for (int x = 0; x < bound; x += LANES) {
      FloatVector.fromArray(SPECIES, a, off + x).mul(c).intoArray(a, off + x);
    }
    ScalarOps.scale(c, aSeg, 4L * off, bound, len);
  }

  /** {@code q[dst..] = c * src[srcOff..]} for one head: loads a query row, pre-scaled. */
  static void loadScaled(MemorySegment src, long srcOff, float c, float[] dst, int dstOff, int len) {
    int bound = SPECIES.loopBound(len);
    for (int x = 0; x < bound; x += LANES) {
      FloatVector.fromMemorySegment(SPECIES, src, srcOff + 4L * x, ORDER).mul(c).intoArray(dst, dstOff + x);
    }
    for (int x = bound; x < len; x++) {
      dst[dstOff + x] = c * src.get(F32, srcOff + 4L * x);
    }
  }

  /** {@code out[outOff..] = c * a[off..]} for one head: writes a finished output row. */
  static void store(float[] a, int off, float c, MemorySegment out, long outOff, int len) {
    int bound = SPECIES.loopBound(len);
    for (int x = 0; x < bound; x += LANES) {
      FloatVector.fromArray(SPECIES, a, off + x).mul(c).intoMemorySegment(out, outOff + 4L * x, ORDER);
    }
    for (int x = bound; x < len; x++) {
      out.set(F32, outOff + 4L * x, c * a[off + x]);
    }
  }
}
