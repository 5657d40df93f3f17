package io.mqa4j.simd;

import static io.mqa4j.simd.VectorConstants.LANES;
import static io.mqa4j.simd.VectorConstants.SPECIES;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The vector loops of one tile step with the lanes across rows: lane {@code i} of a vector
 * belongs to row {@code r + i}, where a row is one query head of one query. Queries are stored
 * transposed ({@code qT[x * rowPad + r]}), each key element is broadcast and multiplied into
 * a whole vector of rows, and every score lands in its own lane, so no dot product needs a
 * horizontal sum. The online softmax runs across the same lanes. This pays when a KV head has
 * many rows (MQA decode, and prefill blocks); with few rows {@link AttentionBody} is used.
 *
 * <p>Scores are stored key-major: {@code st[j * rowPad + r]} for key {@code j} of the tile.
 * {@code rowPad} is a multiple of the lane count; padding rows have zero queries.
 */
final class LaneRowsBody {
  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
  private static final float NEG_INF = Float.NEGATIVE_INFINITY;

  private LaneRowsBody() {}

  /**
   * {@code st[j * rowPad + r] = q_r · k_j} for every row and keys {@code j} in {@code [0, n)},
   * key {@code j} at {@code keyBase + j * keyStride} in {@code keys}.
   */
  static void scores(float[] qT, int rowPad, int headDim, MemorySegment keys, long keyBase,
      long keyStride, int n, float[] st) {
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      long o = keyBase + j * keyStride;
      int r = 0;
      for (; r + 4 * LANES <= rowPad; r += 4 * LANES) {
        dot4x4(qT, rowPad, r, headDim, keys, o, keyStride, st, j * rowPad + r);
      }
      for (; r + 2 * LANES <= rowPad; r += 2 * LANES) {
        dot4x2(qT, rowPad, r, headDim, keys, o, keyStride, st, j * rowPad + r);
      }
      for (; r < rowPad; r += LANES) {
        dot4x1(qT, rowPad, r, headDim, keys, o, keyStride, st, j * rowPad + r);
      }
    }
    for (; j < n; j++) {
      long o = keyBase + j * keyStride;
      for (int r = 0; r < rowPad; r += LANES) {
        dot1x1(qT, rowPad, r, headDim, keys, o, st, j * rowPad + r);
      }
    }
  }

  // Four keys by two vectors of rows: eight independent FMA chains, and each broadcast key
  // element feeds two of them, each loaded query vector four.
  private static void dot4x2(float[] qT, int rowPad, int r, int headDim, MemorySegment k,
      long o0, long stride, float[] st, int s0) {
    long o1 = o0 + stride, o2 = o1 + stride, o3 = o2 + stride;
    // Accumulators start from zero(), not a static constant vector: a loop that merges a constant
    // with computed vectors makes C2 box them, allocating on every iteration.
    FloatVector a00 = FloatVector.zero(SPECIES), a01 = a00, a10 = a00, a11 = a00;
    FloatVector a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    for (int x = 0; x < headDim; x++) {
      int qi = x * rowPad + r;
      FloatVector q0 = FloatVector.fromArray(SPECIES, qT, qi);
      FloatVector q1 = FloatVector.fromArray(SPECIES, qT, qi + LANES);
      long ox = 4L * x;
      FloatVector k0 = FloatVector.broadcast(SPECIES, k.get(F32, o0 + ox));
      a00 = q0.fma(k0, a00);
      a01 = q1.fma(k0, a01);
      FloatVector k1 = FloatVector.broadcast(SPECIES, k.get(F32, o1 + ox));
      a10 = q0.fma(k1, a10);
      a11 = q1.fma(k1, a11);
      FloatVector k2 = FloatVector.broadcast(SPECIES, k.get(F32, o2 + ox));
      a20 = q0.fma(k2, a20);
      a21 = q1.fma(k2, a21);
      FloatVector k3 = FloatVector.broadcast(SPECIES, k.get(F32, o3 + ox));
      a30 = q0.fma(k3, a30);
      a31 = q1.fma(k3, a31);
    }
    a00.intoArray(st, s0);
    a01.intoArray(st, s0 + LANES);
    a10.intoArray(st, s0 + rowPad);
    a11.intoArray(st, s0 + rowPad + LANES);
    a20.intoArray(st, s0 + 2 * rowPad);
    a21.intoArray(st, s0 + 2 * rowPad + LANES);
    a30.intoArray(st, s0 + 3 * rowPad);
    a31.intoArray(st, s0 + 3 * rowPad + LANES);
  }

  // Four keys by four vectors of rows: sixteen chains; each broadcast key element feeds four.
  private static void dot4x4(float[] qT, int rowPad, int r, int headDim, MemorySegment k,
      long o0, long stride, float[] st, int s0) {
    long o1 = o0 + stride, o2 = o1 + stride, o3 = o2 + stride;
    FloatVector a00 = FloatVector.zero(SPECIES), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    for (int x = 0; x < headDim; x++) {
      int qi = x * rowPad + r;
      FloatVector q0 = FloatVector.fromArray(SPECIES, qT, qi);
      FloatVector q1 = FloatVector.fromArray(SPECIES, qT, qi + LANES);
      FloatVector q2 = FloatVector.fromArray(SPECIES, qT, qi + 2 * LANES);
      FloatVector q3 = FloatVector.fromArray(SPECIES, qT, qi + 3 * LANES);
      long ox = 4L * x;
      FloatVector k0 = FloatVector.broadcast(SPECIES, k.get(F32, o0 + ox));
      a00 = q0.fma(k0, a00);
      a01 = q1.fma(k0, a01);
      a02 = q2.fma(k0, a02);
      a03 = q3.fma(k0, a03);
      FloatVector k1 = FloatVector.broadcast(SPECIES, k.get(F32, o1 + ox));
      a10 = q0.fma(k1, a10);
      a11 = q1.fma(k1, a11);
      a12 = q2.fma(k1, a12);
      a13 = q3.fma(k1, a13);
      FloatVector k2 = FloatVector.broadcast(SPECIES, k.get(F32, o2 + ox));
      a20 = q0.fma(k2, a20);
      a21 = q1.fma(k2, a21);
      a22 = q2.fma(k2, a22);
      a23 = q3.fma(k2, a23);
      FloatVector k3 = FloatVector.broadcast(SPECIES, k.get(F32, o3 + ox));
      a30 = q0.fma(k3, a30);
      a31 = q1.fma(k3, a31);
      a32 = q2.fma(k3, a32);
      a33 = q3.fma(k3, a33);
    }
    a00.intoArray(st, s0);
    a01.intoArray(st, s0 + LANES);
    a02.intoArray(st, s0 + 2 * LANES);
    a03.intoArray(st, s0 + 3 * LANES);
    a10.intoArray(st, s0 + rowPad);
    a11.intoArray(st, s0 + rowPad + LANES);
    a12.intoArray(st, s0 + rowPad + 2 * LANES);
    a13.intoArray(st, s0 + rowPad + 3 * LANES);
    a20.intoArray(st, s0 + 2 * rowPad);
    a21.intoArray(st, s0 + 2 * rowPad + LANES);
    a22.intoArray(st, s0 + 2 * rowPad + 2 * LANES);
    a23.intoArray(st, s0 + 2 * rowPad + 3 * LANES);
    a30.intoArray(st, s0 + 3 * rowPad);
    a31.intoArray(st, s0 + 3 * rowPad + LANES);
    a32.intoArray(st, s0 + 3 * rowPad + 2 * LANES);
    a33.intoArray(st, s0 + 3 * rowPad + 3 * LANES);
  }

  private static void dot4x1(float[] qT, int rowPad, int r, int headDim, MemorySegment k,
      long o0, long stride, float[] st, int s0) {
    long o1 = o0 + stride, o2 = o1 + stride, o3 = o2 + stride;
    FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0;
    for (int x = 0; x < headDim; x++) {
      FloatVector q0 = FloatVector.fromArray(SPECIES, qT, x * rowPad + r);
      long ox = 4L * x;
      a0 = q0.fma(FloatVector.broadcast(SPECIES, k.get(F32, o0 + ox)), a0);
      a1 = q0.fma(FloatVector.broadcast(SPECIES, k.get(F32, o1 + ox)), a1);
      a2 = q0.fma(FloatVector.broadcast(SPECIES, k.get(F32, o2 + ox)), a2);
      a3 = q0.fma(FloatVector.broadcast(SPECIES, k.get(F32, o3 + ox)), a3);
    }
    a0.intoArray(st, s0);
    a1.intoArray(st, s0 + rowPad);
    a2.intoArray(st, s0 + 2 * rowPad);
    a3.intoArray(st, s0 + 3 * rowPad);
  }

  private static void dot1x1(float[] qT, int rowPad, int r, int headDim, MemorySegment k,
      long o, float[] st, int s0) {
    FloatVector a = FloatVector.zero(SPECIES);
    for (int x = 0; x < headDim; x++) {
      a = FloatVector.fromArray(SPECIES, qT, x * rowPad + r)
          .fma(FloatVector.broadcast(SPECIES, k.get(F32, o + 4L * x)), a);
    }
    a.intoArray(st, s0);
  }

  /**
   * Turns the raw scores of keys {@code [0, n)} of a tile into softmax weights relative to each
   * row's updated running maximum, first multiplying them by {@code scoreScale} (1 unless the
   * queries could not be pre-scaled). Row {@code r} sees tile keys {@code j} with
   * {@code low[r] <= j < high[r]} (tile-relative, as floats); the others get weight 0. Soft-cap
   * and ALiBi ({@code slope[r] * (j - posRel[r])}) shape the scores first. Writes each row's
   * new maximum and sum into {@code max} and {@code sum}, and into {@code correction} the factor
   * by which the row's accumulator must be scaled (1 when the maximum did not move).
   */
  static void softmax(float[] st, int rowPad, int n, boolean masked, float[] low, float[] high,
      float scoreScale, float softCap, boolean alibi, float[] slope, float[] posRel, float[] max,
      float[] sum, float[] correction) {
    for (int r = 0; r < rowPad; r += LANES) {
      // Scores are shaped and masked in place first, in loops of their own: C2 keeps vectors
      // in registers only when none is null or assigned on one branch alone.
      if (scoreScale != 1f) {
        for (int j = 0; j < n; j++) {
          int at = j * rowPad + r;
          FloatVector.fromArray(SPECIES, st, at).mul(scoreScale).intoArray(st, at);
        }
      }
      if (softCap > 0) {
        for (int j = 0; j < n; j++) {
          int at = j * rowPad + r;
          FloatVector.fromArray(SPECIES, st, at).div(softCap).lanewise(VectorOperators.TANH)
              .mul(softCap).intoArray(st, at);
        }
      }
      if (alibi) {
        FloatVector slopeV = FloatVector.fromArray(SPECIES, slope, r);
        FloatVector posV = FloatVector.fromArray(SPECIES, posRel, r);
        for (int j = 0; j < n; j++) {
          int at = j * rowPad + r;
          FloatVector.fromArray(SPECIES, st, at).add(slopeV.mul(posV.neg().add(j))).intoArray(st, at);
        }
      }
      if (masked) {
        FloatVector lowV = FloatVector.fromArray(SPECIES, low, r);
        FloatVector highV = FloatVector.fromArray(SPECIES, high, r);
        for (int j = 0; j < n; j++) {
          int at = j * rowPad + r;
          VectorMask<Float> hidden = lowV.compare(VectorOperators.GT, j)
              .or(highV.compare(VectorOperators.LE, j));
          FloatVector.fromArray(SPECIES, st, at).blend(NEG_INF, hidden).intoArray(st, at);
        }
      }
      // Four chains: a lane-wise max with Java's NaN and -0 rules is several instructions long,
      // and one chain through all keys waited on it (measured: the max pass took as long as the
      // exponentials).
      FloatVector m0 = FloatVector.broadcast(SPECIES, NEG_INF), m1 = m0, m2 = m0, m3 = m0;
      int j4 = n & ~3;
      for (int j = 0; j < j4; j += 4) {
        int at = j * rowPad + r;
        m0 = m0.max(FloatVector.fromArray(SPECIES, st, at));
        m1 = m1.max(FloatVector.fromArray(SPECIES, st, at + rowPad));
        m2 = m2.max(FloatVector.fromArray(SPECIES, st, at + 2 * rowPad));
        m3 = m3.max(FloatVector.fromArray(SPECIES, st, at + 3 * rowPad));
      }
      for (int j = j4; j < n; j++) {
        m0 = m0.max(FloatVector.fromArray(SPECIES, st, j * rowPad + r));
      }
      FloatVector rawMax = m0.max(m1).max(m2.max(m3));
      if (rawMax.compare(VectorOperators.EQ, Float.POSITIVE_INFINITY).anyTrue()) {
        // Logits past the float range (scale * q.k overflowing) are held at the largest float,
        // as in the scalar kernel: those keys then share the weight instead of making
        // exp(inf - inf) = NaN. Rare, so the scores are rewritten only when it happens.
        for (int j = 0; j < n; j++) {
          int at = j * rowPad + r;
          FloatVector.fromArray(SPECIES, st, at).min(Float.MAX_VALUE).intoArray(st, at);
        }
      }
      FloatVector tileMax = rawMax.min(Float.MAX_VALUE);
      FloatVector oldMax = FloatVector.fromArray(SPECIES, max, r);
      FloatVector newMax = oldMax.max(tileMax);
      // A row that has seen no key yet keeps max -inf; subtracting 0 instead gives weights
      // exp(-inf) = 0 rather than exp(-inf + inf) = NaN.
      FloatVector shift = newMax.blend(0f, newMax.compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY));
      FloatVector tileSum = FloatVector.zero(SPECIES);
      for (int j = 0; j < n; j++) {
        int at = j * rowPad + r;
        FloatVector p = FloatVector.fromArray(SPECIES, st, at).sub(shift).lanewise(VectorOperators.EXP);
        p.intoArray(st, at);
        tileSum = tileSum.add(p);
      }
      FloatVector c = oldMax.sub(shift).lanewise(VectorOperators.EXP);
      // Bit-exact 1 where the maximum did not move, so unchanged rows skip the rescale.
      c = c.blend(1f, oldMax.compare(VectorOperators.EQ, newMax));
      FloatVector.fromArray(SPECIES, sum, r).mul(c).add(tileSum).intoArray(sum, r);
      newMax.intoArray(max, r);
      c.intoArray(correction, r);
    }
  }

  /**
   * {@code accT[x * rowPad + r] += sum_j st[j * rowPad + r] * v_j[x]} for every row and keys
   * {@code [0, n)}, value {@code j} at {@code valueBase + j * valueStride}: the weighted sum with
   * the accumulator transposed like the queries, so each vector of a key's weights is loaded
   * once per block of four head elements, each value element is broadcast, and no weight is
   * broadcast per row.
   */
  static void accumulate(float[] accT, int rowPad, int headDim, float[] st, MemorySegment values,
      long valueBase, long valueStride, int n) {
    int x = 0;
    for (; x + 4 <= headDim; x += 4) {
      int r = 0;
      for (; r + 4 * LANES <= rowPad; r += 4 * LANES) {
        accumulate4x4(accT, rowPad, r, x, st, values, valueBase, valueStride, n);
      }
      for (; r < rowPad; r += LANES) {
        accumulate4x1(accT, rowPad, r, x, st, values, valueBase, valueStride, n);
      }
    }
    for (; x < headDim; x++) { // head elements past the last four
      for (int r = 0; r < rowPad; r += LANES) {
        int at = x * rowPad + r;
        FloatVector a = FloatVector.fromArray(SPECIES, accT, at);
        for (int j = 0; j < n; j++) {
          FloatVector b = FloatVector.broadcast(SPECIES,
              values.get(F32, valueBase + j * valueStride + 4L * x));
          a = FloatVector.fromArray(SPECIES, st, j * rowPad + r).fma(b, a);
        }
        a.intoArray(accT, at);
      }
    }
  }

  // Four head elements by four vectors of rows: sixteen chains; per key, four weight vectors
  // loaded and four value elements broadcast.
  private static void accumulate4x4(float[] accT, int rowPad, int r, int x, float[] st,
      MemorySegment v, long valueBase, long valueStride, int n) {
    int i0 = x * rowPad + r, i1 = i0 + rowPad, i2 = i1 + rowPad, i3 = i2 + rowPad;
    FloatVector a00 = FloatVector.fromArray(SPECIES, accT, i0);
    FloatVector a01 = FloatVector.fromArray(SPECIES, accT, i0 + LANES);
    FloatVector a02 = FloatVector.fromArray(SPECIES, accT, i0 + 2 * LANES);
    FloatVector a03 = FloatVector.fromArray(SPECIES, accT, i0 + 3 * LANES);
    FloatVector a10 = FloatVector.fromArray(SPECIES, accT, i1);
    FloatVector a11 = FloatVector.fromArray(SPECIES, accT, i1 + LANES);
    FloatVector a12 = FloatVector.fromArray(SPECIES, accT, i1 + 2 * LANES);
    FloatVector a13 = FloatVector.fromArray(SPECIES, accT, i1 + 3 * LANES);
    FloatVector a20 = FloatVector.fromArray(SPECIES, accT, i2);
    FloatVector a21 = FloatVector.fromArray(SPECIES, accT, i2 + LANES);
    FloatVector a22 = FloatVector.fromArray(SPECIES, accT, i2 + 2 * LANES);
    FloatVector a23 = FloatVector.fromArray(SPECIES, accT, i2 + 3 * LANES);
    FloatVector a30 = FloatVector.fromArray(SPECIES, accT, i3);
    FloatVector a31 = FloatVector.fromArray(SPECIES, accT, i3 + LANES);
    FloatVector a32 = FloatVector.fromArray(SPECIES, accT, i3 + 2 * LANES);
    FloatVector a33 = FloatVector.fromArray(SPECIES, accT, i3 + 3 * LANES);
    // The value offset steps by the stride rather than being j * valueStride: C2 kept the
    // stride on the stack and multiplied it in every iteration, which cost 10% of this loop.
    long vo = valueBase + 4L * x;
    for (int j = 0; j < n; j++, vo += valueStride) {
      int wi = j * rowPad + r;
      FloatVector w0 = FloatVector.fromArray(SPECIES, st, wi);
      FloatVector w1 = FloatVector.fromArray(SPECIES, st, wi + LANES);
      FloatVector w2 = FloatVector.fromArray(SPECIES, st, wi + 2 * LANES);
      FloatVector w3 = FloatVector.fromArray(SPECIES, st, wi + 3 * LANES);
      FloatVector b = FloatVector.broadcast(SPECIES, v.get(F32, vo));
      a00 = w0.fma(b, a00);
      a01 = w1.fma(b, a01);
      a02 = w2.fma(b, a02);
      a03 = w3.fma(b, a03);
      b = FloatVector.broadcast(SPECIES, v.get(F32, vo + 4));
      a10 = w0.fma(b, a10);
      a11 = w1.fma(b, a11);
      a12 = w2.fma(b, a12);
      a13 = w3.fma(b, a13);
      b = FloatVector.broadcast(SPECIES, v.get(F32, vo + 8));
      a20 = w0.fma(b, a20);
      a21 = w1.fma(b, a21);
      a22 = w2.fma(b, a22);
      a23 = w3.fma(b, a23);
      b = FloatVector.broadcast(SPECIES, v.get(F32, vo + 12));
      a30 = w0.fma(b, a30);
      a31 = w1.fma(b, a31);
      a32 = w2.fma(b, a32);
      a33 = w3.fma(b, a33);
    }
    a00.intoArray(accT, i0);
    a01.intoArray(accT, i0 + LANES);
    a02.intoArray(accT, i0 + 2 * LANES);
    a03.intoArray(accT, i0 + 3 * LANES);
    a10.intoArray(accT, i1);
    a11.intoArray(accT, i1 + LANES);
    a12.intoArray(accT, i1 + 2 * LANES);
    a13.intoArray(accT, i1 + 3 * LANES);
    a20.intoArray(accT, i2);
    a21.intoArray(accT, i2 + LANES);
    a22.intoArray(accT, i2 + 2 * LANES);
    a23.intoArray(accT, i2 + 3 * LANES);
    a30.intoArray(accT, i3);
    a31.intoArray(accT, i3 + LANES);
    a32.intoArray(accT, i3 + 2 * LANES);
    a33.intoArray(accT, i3 + 3 * LANES);
  }

  // Four head elements by one vector of rows (rows left over after groups of four vectors).
  private static void accumulate4x1(float[] accT, int rowPad, int r, int x, float[] st,
      MemorySegment v, long valueBase, long valueStride, int n) {
    int i0 = x * rowPad + r, i1 = i0 + rowPad, i2 = i1 + rowPad, i3 = i2 + rowPad;
    FloatVector a0 = FloatVector.fromArray(SPECIES, accT, i0);
    FloatVector a1 = FloatVector.fromArray(SPECIES, accT, i1);
    FloatVector a2 = FloatVector.fromArray(SPECIES, accT, i2);
    FloatVector a3 = FloatVector.fromArray(SPECIES, accT, i3);
    for (int j = 0; j < n; j++) {
      FloatVector w = FloatVector.fromArray(SPECIES, st, j * rowPad + r);
      long vo = valueBase + j * valueStride + 4L * x;
      a0 = w.fma(FloatVector.broadcast(SPECIES, v.get(F32, vo)), a0);
      a1 = w.fma(FloatVector.broadcast(SPECIES, v.get(F32, vo + 4)), a1);
      a2 = w.fma(FloatVector.broadcast(SPECIES, v.get(F32, vo + 8)), a2);
      a3 = w.fma(FloatVector.broadcast(SPECIES, v.get(F32, vo + 12)), a3);
    }
    a0.intoArray(accT, i0);
    a1.intoArray(accT, i1);
    a2.intoArray(accT, i2);
    a3.intoArray(accT, i3);
  }

  /** {@code accT[x * rowPad + r] *= c[r]} for every head element: the softmax's rescale. */
  static void rescale(float[] accT, int rowPad, int headDim, float[] c) {
    for (int r = 0; r < rowPad; r += LANES) {
      FloatVector cr = FloatVector.fromArray(SPECIES, c, r);
      for (int x = 0; x < headDim; x++) {
        int at = x * rowPad + r;
        FloatVector.fromArray(SPECIES, accT, at).mul(cr).intoArray(accT, at);
      }
    }
  }
}
