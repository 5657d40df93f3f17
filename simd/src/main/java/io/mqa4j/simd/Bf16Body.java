package io.mqa4j.simd;

import static io.mqa4j.simd.VectorConstants.INTS;
import static io.mqa4j.simd.VectorConstants.LANES;
import static io.mqa4j.simd.VectorConstants.SPECIES;

import io.mqa4j.core.KvType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * {@link AttentionBody}'s scores and weighted sums for bf16 keys and values, read straight from
 * the cache with no widened copy. A 32-bit load holds two bf16 elements: the even one in its low
 * half, the odd one in its high half. Shifting the low half up, or clearing it, gives each as a
 * float in place, so one integer vector turns into two float vectors with two cheap lane-wise
 * operations and no shuffle. The elements come out split into even and odd positions; the query
 * and accumulator rows are stored in that same order ({@link #toEvenOdd}), which a dot product
 * and a weighted sum do not mind.
 *
 * <p>The order, per chunk of {@code 2 * LANES} elements: the chunk's even elements, then its odd
 * ones. Elements past the last whole chunk keep their places and are handled one at a time.
 */
final class Bf16Body {
  private static final ValueLayout.OfShort SHORT_LE =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final int CHUNK = 2 * LANES;
  private static final int HIGH_HALF = 0xffff0000;

  private Bf16Body() {}

  /** Elements of a head covered by whole chunks. */
  static int chunked(int headDim) {
    return headDim - headDim % CHUNK;
  }

  /** Reorders one row in place into the even-odd order; {@code tmp} holds a chunk. */
  static void toEvenOdd(float[] a, int off, int headDim, float[] tmp) {
    for (int c = off; c < off + chunked(headDim); c += CHUNK) {
      System.arraycopy(a, c, tmp, 0, CHUNK);
      for (int i = 0; i < LANES; i++) {
        a[c + i] = tmp[2 * i];
        a[c + LANES + i] = tmp[2 * i + 1];
      }
    }
  }

  /** Undoes {@link #toEvenOdd}. */
  static void fromEvenOdd(float[] a, int off, int headDim, float[] tmp) {
    for (int c = off; c < off + chunked(headDim); c += CHUNK) {
      System.arraycopy(a, c, tmp, 0, CHUNK);
      for (int i = 0; i < LANES; i++) {
        a[c + 2 * i] = tmp[i];
        a[c + 2 * i + 1] = tmp[LANES + i];
      }
    }
  }

  private static FloatVector even(IntVector bits) {
    return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
  }

  private static FloatVector odd(IntVector bits) {
    return bits.and(HIGH_HALF).reinterpretAsFloats();
  }

  private static IntVector load(MemorySegment s, long o) {
    return IntVector.fromMemorySegment(INTS, s, o, ByteOrder.LITTLE_ENDIAN);
  }

  private static float element(MemorySegment s, long rowOffset, int x) {
    return KvType.bf16ToFloat(s.get(SHORT_LE, rowOffset + 2L * x));
  }

  /** As {@link AttentionBody#scores}, with {@code q} in the even-odd order and bf16 keys. */
  static void scores(float[] q, int qBase, int rows, int headDim, MemorySegment keys, long keyBase,
      long keyStride, int from, int n, float[] scores, int scoreBase, int tile, boolean rowByRow) {
    int bound = chunked(headDim);
    int rows4 = rowByRow ? 0 : rows & ~3;
    int j = from;
    for (; j + 2 <= n; j += 2) {
      for (int r = 0; r < rows4; r += 4) {
        dot4x2(q, qBase + r * headDim, headDim, bound, keys, keyBase + j * keyStride,
            keyBase + (j + 1) * keyStride, scores, scoreBase + r * tile + j, tile);
      }
    }
    for (; j < n; j++) {
      for (int r = 0; r < rows4; r++) {
        scores[scoreBase + r * tile + j] =
            dot1x1(q, qBase + r * headDim, headDim, bound, keys, keyBase + j * keyStride);
      }
    }
    for (int r = rows4; r < rows; r++) {
      if (headDim == RESIDENT_DIM) {
        scoresResident(q, qBase + r * headDim, keys, keyBase, keyStride, from, n, scores,
            scoreBase + r * tile);
        continue;
      }
      if (headDim == RESIDENT_DIM / 2) {
        scoresResidentHalf(q, qBase + r * headDim, keys, keyBase, keyStride, from, n, scores,
            scoreBase + r * tile);
        continue;
      }
      int k = from;
      for (; k + 4 <= n; k += 4) {
        dot1x4(q, qBase + r * headDim, headDim, bound, keys, keyBase + k * keyStride, keyStride,
            scores, scoreBase + r * tile + k);
      }
      for (; k < n; k++) {
        scores[scoreBase + r * tile + k] =
            dot1x1(q, qBase + r * headDim, headDim, bound, keys, keyBase + k * keyStride);
      }
    }
  }

  private static float tail(float[] q, int q0, int headDim, int bound, MemorySegment k, long o) {
    float s = 0f;
    for (int x = bound; x < headDim; x++) {
      s += q[q0 + x] * element(k, o, x);
    }
    return s;
  }

  // Four rows by two keys, each key chunk loaded once as bits and widened into its even and odd
  // halves: eight FMA chains, each fed twice per chunk.
  private static void dot4x2(float[] q, int q0, int headDim, int bound, MemorySegment k, long o0,
      long o1, float[] scores, int s0, int tile) {
    int q1 = q0 + headDim, q2 = q1 + headDim, q3 = q2 + headDim;
    FloatVector a00 = FloatVector.zero(SPECIES), a10 = a00, a20 = a00, a30 = a00;
    FloatVector a01 = a00, a11 = a00, a21 = a00, a31 = a00;
    for (int x = 0; x < bound; x += CHUNK) {
      IntVector b0 = load(k, o0 + 2L * x);
      IntVector b1 = load(k, o1 + 2L * x);
      FloatVector e0 = even(b0), d0 = odd(b0), e1 = even(b1), d1 = odd(b1);
      FloatVector qe = FloatVector.fromArray(SPECIES, q, q0 + x);
      FloatVector qd = FloatVector.fromArray(SPECIES, q, q0 + x + LANES);
      a00 = qd.fma(d0, qe.fma(e0, a00));
      a01 = qd.fma(d1, qe.fma(e1, a01));
      qe = FloatVector.fromArray(SPECIES, q, q1 + x);
      qd = FloatVector.fromArray(SPECIES, q, q1 + x + LANES);
      a10 = qd.fma(d0, qe.fma(e0, a10));
      a11 = qd.fma(d1, qe.fma(e1, a11));
      qe = FloatVector.fromArray(SPECIES, q, q2 + x);
      qd = FloatVector.fromArray(SPECIES, q, q2 + x + LANES);
      a20 = qd.fma(d0, qe.fma(e0, a20));
      a21 = qd.fma(d1, qe.fma(e1, a21));
      qe = FloatVector.fromArray(SPECIES, q, q3 + x);
      qd = FloatVector.fromArray(SPECIES, q, q3 + x + LANES);
      a30 = qd.fma(d0, qe.fma(e0, a30));
      a31 = qd.fma(d1, qe.fma(e1, a31));
    }
    scores[s0] = a00.reduceLanes(VectorOperators.ADD) + tail(q, q0, headDim, bound, k, o0);
    scores[s0 + 1] = a01.reduceLanes(VectorOperators.ADD) + tail(q, q0, headDim, bound, k, o1);
    scores[s0 + tile] = a10.reduceLanes(VectorOperators.ADD) + tail(q, q1, headDim, bound, k, o0);
    scores[s0 + tile + 1] = a11.reduceLanes(VectorOperators.ADD) + tail(q, q1, headDim, bound, k, o1);
    scores[s0 + 2 * tile] = a20.reduceLanes(VectorOperators.ADD) + tail(q, q2, headDim, bound, k, o0);
    scores[s0 + 2 * tile + 1] = a21.reduceLanes(VectorOperators.ADD) + tail(q, q2, headDim, bound, k, o1);
    scores[s0 + 3 * tile] = a30.reduceLanes(VectorOperators.ADD) + tail(q, q3, headDim, bound, k, o0);
    scores[s0 + 3 * tile + 1] = a31.reduceLanes(VectorOperators.ADD) + tail(q, q3, headDim, bound, k, o1);
  }

  // One row by four keys: even and odd halves in chains of their own, eight in all.
  private static void dot1x4(float[] q, int q0, int headDim, int bound, MemorySegment keys,
      long o0, long stride, float[] scores, int s0) {
    long o1 = o0 + stride, o2 = o1 + stride, o3 = o2 + stride;
    FloatVector e0 = FloatVector.zero(SPECIES), e1 = e0, e2 = e0, e3 = e0;
    FloatVector d0 = e0, d1 = e0, d2 = e0, d3 = e0;
    for (int x = 0; x < bound; x += CHUNK) {
      FloatVector qe = FloatVector.fromArray(SPECIES, q, q0 + x);
      FloatVector qd = FloatVector.fromArray(SPECIES, q, q0 + x + LANES);
      IntVector b0 = load(keys, o0 + 2L * x);
      e0 = qe.fma(even(b0), e0);
      d0 = qd.fma(odd(b0), d0);
      IntVector b1 = load(keys, o1 + 2L * x);
      e1 = qe.fma(even(b1), e1);
      d1 = qd.fma(odd(b1), d1);
      IntVector b2 = load(keys, o2 + 2L * x);
      e2 = qe.fma(even(b2), e2);
      d2 = qd.fma(odd(b2), d2);
      IntVector b3 = load(keys, o3 + 2L * x);
      e3 = qe.fma(even(b3), e3);
      d3 = qd.fma(odd(b3), d3);
    }
    scores[s0] = e0.add(d0).reduceLanes(VectorOperators.ADD) + tail(q, q0, headDim, bound, keys, o0);
    scores[s0 + 1] = e1.add(d1).reduceLanes(VectorOperators.ADD) + tail(q, q0, headDim, bound, keys, o1);
    scores[s0 + 2] = e2.add(d2).reduceLanes(VectorOperators.ADD) + tail(q, q0, headDim, bound, keys, o2);
    scores[s0 + 3] = e3.add(d3).reduceLanes(VectorOperators.ADD) + tail(q, q0, headDim, bound, keys, o3);
  }

  /** The head dim whose query row {@link #scoresResident} holds in eight registers. */
  static final int RESIDENT_DIM = 4 * CHUNK;

  // As AttentionBody.scoresResident, for bf16 keys: the row held in registers, one loop over
  // the keys, no loop over the head restarted for every four keys.
  private static void scoresResident(float[] q, int q0, MemorySegment keys, long keyBase,
      long stride, int from, int n, float[] scores, int s0) {
    FloatVector e0 = FloatVector.fromArray(SPECIES, q, q0);
    FloatVector d0 = FloatVector.fromArray(SPECIES, q, q0 + LANES);
    FloatVector e1 = FloatVector.fromArray(SPECIES, q, q0 + CHUNK);
    FloatVector d1 = FloatVector.fromArray(SPECIES, q, q0 + CHUNK + LANES);
    FloatVector e2 = FloatVector.fromArray(SPECIES, q, q0 + 2 * CHUNK);
    FloatVector d2 = FloatVector.fromArray(SPECIES, q, q0 + 2 * CHUNK + LANES);
    FloatVector e3 = FloatVector.fromArray(SPECIES, q, q0 + 3 * CHUNK);
    FloatVector d3 = FloatVector.fromArray(SPECIES, q, q0 + 3 * CHUNK + LANES);
    for (int k = from; k < n; k++) {
      long a = keyBase + k * stride;
      IntVector b0 = load(keys, a);
      IntVector b1 = load(keys, a + 2L * CHUNK);
      IntVector b2 = load(keys, a + 4L * CHUNK);
      IntVector b3 = load(keys, a + 6L * CHUNK);
      FloatVector sumEven = e1.fma(even(b1), e0.mul(even(b0)));
      FloatVector sumOdd = d1.fma(odd(b1), d0.mul(odd(b0)));
      sumEven = e3.fma(even(b3), e2.fma(even(b2), sumEven));
      sumOdd = d3.fma(odd(b3), d2.fma(odd(b2), sumOdd));
      scores[s0 + k] = sumEven.add(sumOdd).reduceLanes(VectorOperators.ADD);
    }
  }

  // scoresResident for rows of half its length (head dim 64 at 512-bit), whose loop over the
  // head ran only twice per four keys.
  private static void scoresResidentHalf(float[] q, int q0, MemorySegment keys, long keyBase,
      long stride, int from, int n, float[] scores, int s0) {
    FloatVector e0 = FloatVector.fromArray(SPECIES, q, q0);
    FloatVector d0 = FloatVector.fromArray(SPECIES, q, q0 + LANES);
    FloatVector e1 = FloatVector.fromArray(SPECIES, q, q0 + CHUNK);
    FloatVector d1 = FloatVector.fromArray(SPECIES, q, q0 + CHUNK + LANES);
    for (int k = from; k < n; k++) {
      long a = keyBase + k * stride;
      IntVector b0 = load(keys, a);
      IntVector b1 = load(keys, a + 2L * CHUNK);
      FloatVector sumEven = e1.fma(even(b1), e0.mul(even(b0)));
      FloatVector sumOdd = d1.fma(odd(b1), d0.mul(odd(b0)));
      scores[s0 + k] = sumEven.add(sumOdd).reduceLanes(VectorOperators.ADD);
    }
  }

  private static float dot1x1(float[] q, int q0, int headDim, int bound, MemorySegment k, long o) {
    FloatVector e = FloatVector.zero(SPECIES), d = e;
    for (int x = 0; x < bound; x += CHUNK) {
      IntVector b = load(k, o + 2L * x);
      e = FloatVector.fromArray(SPECIES, q, q0 + x).fma(even(b), e);
      d = FloatVector.fromArray(SPECIES, q, q0 + x + LANES).fma(odd(b), d);
    }
    return e.add(d).reduceLanes(VectorOperators.ADD) + tail(q, q0, headDim, bound, k, o);
  }

  /**
   * As {@link AttentionBody#accumulate}, with {@code acc} in the even-odd order and bf16 values.
   * With {@code rowByRow} every row takes its own pass over the values, as {@link #scores} does
   * with the keys: the first from memory, doing the least work per byte, the rest from L1 (GQA
   * 32/8 decode about 9% faster at head dim 128; f32 values gained nothing this way).
   */
  static void accumulate(float[] acc, int accBase, int rows, int headDim, float[] p, int pBase,
      int tile, int pKeyStride, MemorySegment values, long valueBase, long valueStride, int from,
      int n, boolean rowByRow) {
    int bound = chunked(headDim);
    int rows4 = rowByRow ? 0 : rows & ~3;
    for (int r = 0; r < rows4; r += 4) {
      for (int x = 0; x < bound; x += CHUNK) {
        accumulate4x1(acc, accBase + r * headDim + x, headDim, p, pBase + r * tile, tile,
            pKeyStride, values, valueBase + 2L * x, valueStride, from, n);
      }
    }
    for (int r = rows4; r < rows; r++) {
      int o = accBase + r * headDim;
      int pr = pBase + r * tile;
      int x = 0;
      for (; x + 2 * CHUNK <= bound; x += 2 * CHUNK) {
        FloatVector a0 = FloatVector.fromArray(SPECIES, acc, o + x);
        FloatVector a1 = FloatVector.fromArray(SPECIES, acc, o + x + LANES);
        FloatVector a2 = FloatVector.fromArray(SPECIES, acc, o + x + CHUNK);
        FloatVector a3 = FloatVector.fromArray(SPECIES, acc, o + x + CHUNK + LANES);
        for (int j = from; j < n; j++) {
          long vo = valueBase + j * valueStride + 2L * x;
          FloatVector w = FloatVector.broadcast(SPECIES, p[pr + j * pKeyStride]);
          IntVector b0 = load(values, vo);
          IntVector b1 = load(values, vo + 2L * CHUNK);
          a0 = even(b0).fma(w, a0);
          a1 = odd(b0).fma(w, a1);
          a2 = even(b1).fma(w, a2);
          a3 = odd(b1).fma(w, a3);
        }
        a0.intoArray(acc, o + x);
        a1.intoArray(acc, o + x + LANES);
        a2.intoArray(acc, o + x + CHUNK);
        a3.intoArray(acc, o + x + CHUNK + LANES);
      }
      for (; x < bound; x += CHUNK) {
        FloatVector a0 = FloatVector.fromArray(SPECIES, acc, o + x);
        FloatVector a1 = FloatVector.fromArray(SPECIES, acc, o + x + LANES);
        for (int j = from; j < n; j++) {
          FloatVector w = FloatVector.broadcast(SPECIES, p[pr + j * pKeyStride]);
          IntVector b = load(values, valueBase + j * valueStride + 2L * x);
          a0 = even(b).fma(w, a0);
          a1 = odd(b).fma(w, a1);
        }
        a0.intoArray(acc, o + x);
        a1.intoArray(acc, o + x + LANES);
      }
    }
    if (bound < headDim) { // elements past the last chunk, one at a time
      for (int r = 0; r < rows; r++) {
        int o = accBase + r * headDim;
        for (int j = from; j < n; j++) {
          float w = p[pBase + r * tile + j * pKeyStride];
          long vo = valueBase + j * valueStride;
          for (int x = bound; x < headDim; x++) {
            acc[o + x] += w * element(values, vo, x);
          }
        }
      }
    }
  }

  // Four rows by one chunk: the chunk's two halves feed eight chains, one per row and half.
  private static void accumulate4x1(float[] acc, int o0, int headDim, float[] p, int p0, int tile,
      int pKeyStride, MemorySegment values, long valueBase, long valueStride, int from, int n) {
    int o1 = o0 + headDim, o2 = o1 + headDim, o3 = o2 + headDim;
    int p1 = p0 + tile, p2 = p1 + tile, p3 = p2 + tile;
    FloatVector e0 = FloatVector.fromArray(SPECIES, acc, o0);
    FloatVector d0 = FloatVector.fromArray(SPECIES, acc, o0 + LANES);
    FloatVector e1 = FloatVector.fromArray(SPECIES, acc, o1);
    FloatVector d1 = FloatVector.fromArray(SPECIES, acc, o1 + LANES);
    FloatVector e2 = FloatVector.fromArray(SPECIES, acc, o2);
    FloatVector d2 = FloatVector.fromArray(SPECIES, acc, o2 + LANES);
    FloatVector e3 = FloatVector.fromArray(SPECIES, acc, o3);
    FloatVector d3 = FloatVector.fromArray(SPECIES, acc, o3 + LANES);
    for (int j = from; j < n; j++) {
      IntVector b = load(values, valueBase + j * valueStride);
      FloatVector ve = even(b), vd = odd(b);
      int pj = j * pKeyStride;
      FloatVector w = FloatVector.broadcast(SPECIES, p[p0 + pj]);
      e0 = ve.fma(w, e0);
      d0 = vd.fma(w, d0);
      w = FloatVector.broadcast(SPECIES, p[p1 + pj]);
      e1 = ve.fma(w, e1);
      d1 = vd.fma(w, d1);
      w = FloatVector.broadcast(SPECIES, p[p2 + pj]);
      e2 = ve.fma(w, e2);
      d2 = vd.fma(w, d2);
      w = FloatVector.broadcast(SPECIES, p[p3 + pj]);
      e3 = ve.fma(w, e3);
      d3 = vd.fma(w, d3);
    }
    e0.intoArray(acc, o0);
    d0.intoArray(acc, o0 + LANES);
    e1.intoArray(acc, o1);
    d1.intoArray(acc, o1 + LANES);
    e2.intoArray(acc, o2);
    d2.intoArray(acc, o2 + LANES);
    e3.intoArray(acc, o3);
    d3.intoArray(acc, o3 + LANES);
  }
}
