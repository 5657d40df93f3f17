package io.mqa4j.simd;

import static io.mqa4j.simd.VectorConstants.LANES;
import static io.mqa4j.simd.VectorConstants.ORDER;
import static io.mqa4j.simd.VectorConstants.SPECIES;

import io.mqa4j.core.spi.ScalarOps;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The vector loops of one tile step: scores of a block of rows against a tile of keys, the
 * online-softmax update, and the weighted sum of the tile's values. A row is one query head of
 * one query; all rows of a block read the same KV head, so each key and value row loaded from
 * memory serves every row of the block (the whole group in decode). A tile's keys lie in one
 * block of the cache, so each loop reads one segment at a base offset and a fixed token stride,
 * which lets the JIT hoist the segment's checks out of the loops.
 */
final class AttentionBody {
  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
  private static final FloatVector IOTA = FloatVector.zero(SPECIES).addIndex(1);

  private AttentionBody() {}

  /**
   * {@code scores[scoreBase + r * tile + j] = q_r · k_j} for rows {@code [0, rows)} of {@code q}
   * from {@code qBase}, and keys {@code [from, n)}. With {@code rowByRow} (see
   * {@link #rowByRow}) every row takes its own pass over the keys.
   */
  static void scores(float[] q, MemorySegment qSeg, int qBase, int rows, int headDim,
      MemorySegment keys, long keyBase, long keyStride, int from, int n, float[] scores, int scoreBase,
      int tile, boolean rowByRow) {
    int bound = SPECIES.loopBound(headDim);
    int rows4 = rowByRow ? 0 : rows & ~3;
    int j = from;
    // Four rows by two keys: eight independent FMA chains fill both FMA pipes, and each vector
    // loaded (a key's or a query's) feeds two to four of them.
    for (; j + 2 <= n; j += 2) {
      for (int r = 0; r < rows4; r += 4) {
        dot4x2(q, qSeg, qBase + r * headDim, headDim, bound, keys, keyBase + j * keyStride,
            keyBase + (j + 1) * keyStride, scores, scoreBase + r * tile + j, tile);
      }
    }
    for (; j < n; j++) {
      for (int r = 0; r < rows4; r += 4) {
        dot4x1(q, qSeg, qBase + r * headDim, headDim, bound, keys, keyBase + j * keyStride, scores,
            scoreBase + r * tile + j, tile);
      }
    }
    // Rows left over (all of them in MHA decode): one row against four keys at a time, or, at
    // head dims RESIDENT_DIM and half of it, the row held in registers against every key.
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
        dot1x4(q, qSeg, qBase + r * headDim, headDim, bound, keys, keyBase + k * keyStride,
            keyStride, scores, scoreBase + r * tile + k);
      }
      for (; k < n; k++) {
        scores[scoreBase + r * tile + k] =
            dot1x1(q, qSeg, qBase + r * headDim, headDim, bound, keys, keyBase + k * keyStride);
      }
    }
  }

  /** The head dim whose query row {@link #scoresResident} holds in eight registers. */
  static final int RESIDENT_DIM = 8 * LANES;

  /** The most rows per KV head that decode scores row by row; see {@link #rowByRow}. */
  static final int ROW_BY_ROW_MAX = 16;

  /**
   * Whether decode scores a KV head's {@code rows} (a group, a few queries of one) one row at a
   * time with the row held in registers, rather than four rows by two keys. Keys come from
   * memory: the first row's pass pulls a step of keys into L1 doing the least work per byte it
   * waits for, and the other rows find them there. GQA 32/8 decode at head dim 128 and 512-bit
   * vectors took 30-50% less time at 16384 keys and 10-15% less at 1024 under JMH (BENCHMARKS.md,
   * "Row by row"). More rows (prefill) are bound by computation and keep the four-row loops.
   * Serves bf16 too, whose resident row ({@link Bf16Body#RESIDENT_DIM}) has the same length.
   */
  static boolean rowByRow(int rows, int headDim) {
    return rows <= ROW_BY_ROW_MAX && (headDim == RESIDENT_DIM || headDim == RESIDENT_DIM / 2);
  }

  // One row of RESIDENT_DIM elements (head dim 128 at 512-bit vectors), loaded once and held in
  // registers while one loop walks the keys, each key's dot product written out whole. dot1x4
  // instead starts a loop over the head for every four keys, and C2's range-check set-up and
  // checked first iteration before so short a loop took about half of its time (the q8_0 one
  // most of all: 30% faster per element in cache this way, 10-15% from memory).
  private static void scoresResident(float[] q, int q0, MemorySegment keys, long keyBase,
      long stride, int from, int n, float[] scores, int s0) {
    FloatVector q0v = FloatVector.fromArray(SPECIES, q, q0);
    FloatVector q1v = FloatVector.fromArray(SPECIES, q, q0 + LANES);
    FloatVector q2v = FloatVector.fromArray(SPECIES, q, q0 + 2 * LANES);
    FloatVector q3v = FloatVector.fromArray(SPECIES, q, q0 + 3 * LANES);
    FloatVector q4v = FloatVector.fromArray(SPECIES, q, q0 + 4 * LANES);
    FloatVector q5v = FloatVector.fromArray(SPECIES, q, q0 + 5 * LANES);
    FloatVector q6v = FloatVector.fromArray(SPECIES, q, q0 + 6 * LANES);
    FloatVector q7v = FloatVector.fromArray(SPECIES, q, q0 + 7 * LANES);
    long bytes = 4L * LANES;
    long a = keyBase + from * stride;
    for (int k = from; k < n; k++, a += stride) {
      FloatVector c0 = q0v.mul(FloatVector.fromMemorySegment(SPECIES, keys, a, ORDER));
      FloatVector c1 = q1v.mul(FloatVector.fromMemorySegment(SPECIES, keys, a + bytes, ORDER));
      c0 = q2v.fma(FloatVector.fromMemorySegment(SPECIES, keys, a + 2 * bytes, ORDER), c0);
      c1 = q3v.fma(FloatVector.fromMemorySegment(SPECIES, keys, a + 3 * bytes, ORDER), c1);
      c0 = q4v.fma(FloatVector.fromMemorySegment(SPECIES, keys, a + 4 * bytes, ORDER), c0);
      c1 = q5v.fma(FloatVector.fromMemorySegment(SPECIES, keys, a + 5 * bytes, ORDER), c1);
      c0 = q6v.fma(FloatVector.fromMemorySegment(SPECIES, keys, a + 6 * bytes, ORDER), c0);
      c1 = q7v.fma(FloatVector.fromMemorySegment(SPECIES, keys, a + 7 * bytes, ORDER), c1);
      scores[s0 + k] = c0.add(c1).reduceLanes(VectorOperators.ADD);
    }
  }

  // scoresResident for rows of half its length (head dim 64 at 512-bit), whose loop over the
  // head ran only four times per four keys.
  private static void scoresResidentHalf(float[] q, int q0, MemorySegment keys, long keyBase,
      long stride, int from, int n, float[] scores, int s0) {
    FloatVector q0v = FloatVector.fromArray(SPECIES, q, q0);
    FloatVector q1v = FloatVector.fromArray(SPECIES, q, q0 + LANES);
    FloatVector q2v = FloatVector.fromArray(SPECIES, q, q0 + 2 * LANES);
    FloatVector q3v = FloatVector.fromArray(SPECIES, q, q0 + 3 * LANES);
    long bytes = 4L * LANES;
    long a = keyBase + from * stride;
    for (int k = from; k < n; k++, a += stride) {
      FloatVector c0 = q0v.mul(FloatVector.fromMemorySegment(SPECIES, keys, a, ORDER));
      FloatVector c1 = q1v.mul(FloatVector.fromMemorySegment(SPECIES, keys, a + bytes, ORDER));
      c0 = q2v.fma(FloatVector.fromMemorySegment(SPECIES, keys, a + 2 * bytes, ORDER), c0);
      c1 = q3v.fma(FloatVector.fromMemorySegment(SPECIES, keys, a + 3 * bytes, ORDER), c1);
      scores[s0 + k] = c0.add(c1).reduceLanes(VectorOperators.ADD);
    }
  }

  private static void dot4x2(float[] q, MemorySegment qSeg, int q0, int headDim, int bound,
      MemorySegment k, long o0, long o1, float[] scores, int s0, int tile) {
    MemorySegment k0 = k, k1 = k;
    int q1 = q0 + headDim, q2 = q1 + headDim, q3 = q2 + headDim;
    FloatVector a00 = FloatVector.zero(SPECIES), a10 = a00, a20 = a00, a30 = a00;
    FloatVector a01 = a00, a11 = a00, a21 = a00, a31 = a00;
    for (int x = 0; x < bound; x += LANES) {
      FloatVector kv0 = FloatVector.fromMemorySegment(SPECIES, k0, o0 + 4L * x, ORDER);
      FloatVector kv1 = FloatVector.fromMemorySegment(SPECIES, k1, o1 + 4L * x, ORDER);
      FloatVector v0 = FloatVector.fromArray(SPECIES, q, q0 + x);
      a00 = v0.fma(kv0, a00);
      a01 = v0.fma(kv1, a01);
      FloatVector v1 = FloatVector.fromArray(SPECIES, q, q1 + x);
      a10 = v1.fma(kv0, a10);
      a11 = v1.fma(kv1, a11);
      FloatVector v2 = FloatVector.fromArray(SPECIES, q, q2 + x);
      a20 = v2.fma(kv0, a20);
      a21 = v2.fma(kv1, a21);
      FloatVector v3 = FloatVector.fromArray(SPECIES, q, q3 + x);
      a30 = v3.fma(kv0, a30);
      a31 = v3.fma(kv1, a31);
    }
    scores[s0] = a00.reduceLanes(VectorOperators.ADD) + ScalarOps.dot(qSeg, 4L * q0, k0, o0, bound, headDim);
    scores[s0 + 1] = a01.reduceLanes(VectorOperators.ADD) + ScalarOps.dot(qSeg, 4L * q0, k1, o1, bound, headDim);
    scores[s0 + tile] = a10.reduceLanes(VectorOperators.ADD) + ScalarOps.dot(qSeg, 4L * q1, k0, o0, bound, headDim);
    scores[s0 + tile + 1] = a11.reduceLanes(VectorOperators.ADD) + ScalarOps.dot(qSeg, 4L * q1, k1, o1, bound, headDim);
    scores[s0 + 2 * tile] = a20.reduceLanes(VectorOperators.ADD) + ScalarOps.dot(qSeg, 4L * q2, k0, o0, bound, headDim);
    scores[s0 + 2 * tile + 1] = a21.reduceLanes(VectorOperators.ADD) + ScalarOps.dot(qSeg, 4L * q2, k1, o1, bound, headDim);
    scores[s0 + 3 * tile] = a30.reduceLanes(VectorOperators.ADD) + ScalarOps.dot(qSeg, 4L * q3, k0, o0, bound, headDim);
    scores[s0 + 3 * tile + 1] = a31.reduceLanes(VectorOperators.ADD) + ScalarOps.dot(qSeg, 4L * q3, k1, o1, bound, headDim);
  }

  private static void dot4x1(float[] q, MemorySegment qSeg, int q0, int headDim, int bound,
      MemorySegment k, long o, float[] scores, int s0, int tile) {
    for (int i = 0; i < 4; i++) {
      scores[s0 + i * tile] = dot1x1(q, qSeg, q0 + i * headDim, headDim, bound, k, o);
    }
  }

  private static void dot1x4(float[] q, MemorySegment qSeg, int q0, int headDim, int bound,
      MemorySegment keys, long o0, long stride, float[] scores, int s0) {
    MemorySegment k0 = keys, k1 = keys, k2 = keys, k3 = keys;
    long o1 = o0 + stride, o2 = o1 + stride, o3 = o2 + stride;
    FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0;
    for (int x = 0; x < bound; x += LANES) {
      FloatVector qv = FloatVector.fromArray(SPECIES, q, q0 + x);
      a0 = qv.fma(FloatVector.fromMemorySegment(SPECIES, k0, o0 + 4L * x, ORDER), a0);
      a1 = qv.fma(FloatVector.fromMemorySegment(SPECIES, k1, o1 + 4L * x, ORDER), a1);
      a2 = qv.fma(FloatVector.fromMemorySegment(SPECIES, k2, o2 + 4L * x, ORDER), a2);
      a3 = qv.fma(FloatVector.fromMemorySegment(SPECIES, k3, o3 + 4L * x, ORDER), a3);
    }
    scores[s0] = a0.reduceLanes(VectorOperators.ADD) + ScalarOps.dot(qSeg, 4L * q0, k0, o0, bound, headDim);
    scores[s0 + 1] = a1.reduceLanes(VectorOperators.ADD) + ScalarOps.dot(qSeg, 4L * q0, k1, o1, bound, headDim);
    scores[s0 + 2] = a2.reduceLanes(VectorOperators.ADD) + ScalarOps.dot(qSeg, 4L * q0, k2, o2, bound, headDim);
    scores[s0 + 3] = a3.reduceLanes(VectorOperators.ADD) + ScalarOps.dot(qSeg, 4L * q0, k3, o3, bound, headDim);
  }

  private static float dot1x1(float[] q, MemorySegment qSeg, int q0, int headDim, int bound,
      MemorySegment k, long o) {
    // Two chains so short rows are not bound by FMA latency.
    FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0;
    int x = 0;
    for (; x + 2 * LANES <= bound; x += 2 * LANES) {
      a0 = FloatVector.fromArray(SPECIES, q, q0 + x)
          .fma(FloatVector.fromMemorySegment(SPECIES, k, o + 4L * x, ORDER), a0);
      a1 = FloatVector.fromArray(SPECIES, q, q0 + x + LANES)
          .fma(FloatVector.fromMemorySegment(SPECIES, k, o + 4L * (x + LANES), ORDER), a1);
    }
    for (; x < bound; x += LANES) {
      a0 = FloatVector.fromArray(SPECIES, q, q0 + x)
          .fma(FloatVector.fromMemorySegment(SPECIES, k, o + 4L * x, ORDER), a0);
    }
    return a0.add(a1).reduceLanes(VectorOperators.ADD) + ScalarOps.dot(qSeg, 4L * q0, k, o, bound, headDim);
  }

  /**
   * Turns one row's raw scores over keys {@code [first, first + tile)} ({@code tile} a multiple
   * of the lane count) into softmax weights relative to the row's updated running maximum,
   * masking keys outside {@code [from, to)}. Returns the factor by which the row's earlier sum and
   * accumulator must be scaled, with the new maximum in {@code max[r]} and the new sum in
   * {@code sum[r]}; returns 1 and leaves zero weights when the row sees no key of the tile.
   */
  static float softmaxRow(float[] scores, int base, int tile, int first, int from, int to,
      int position, float scoreScale, float softCap, float slope, float[] max, float[] sum,
      int r) {
    // No vector is carried from one iteration to the next, and no vector mask is built: with
    // either, C2 sometimes gives up on the intrinsics here and falls back to allocating code.
    if (scoreScale != 1f) {
      for (int j = 0; j < tile; j += LANES) {
        FloatVector.fromArray(SPECIES, scores, base + j).mul(scoreScale)
            .intoArray(scores, base + j);
      }
    }
    if (softCap > 0 || slope != 0) {
      float firstMinusPos = first - position;
      for (int j = 0; j < tile; j += LANES) {
        FloatVector s = FloatVector.fromArray(SPECIES, scores, base + j);
        if (softCap > 0) {
          s = s.div(softCap).lanewise(VectorOperators.TANH).mul(softCap);
        }
        if (slope != 0) {
          s = s.add(IOTA.add(j + firstMinusPos).mul(slope));
        }
        s.intoArray(scores, base + j);
      }
    }
    // Keys outside [from, to) get -inf, which exp turns into weight 0.
    int visibleFrom = Math.min(tile, Math.max(0, from - first));
    int visibleTo = Math.max(visibleFrom, Math.min(tile, to - first));
    for (int j = 0; j < visibleFrom; j++) {
      scores[base + j] = Float.NEGATIVE_INFINITY;
    }
    for (int j = visibleTo; j < tile; j++) {
      scores[base + j] = Float.NEGATIVE_INFINITY;
    }
    if (visibleFrom >= visibleTo) {
      java.util.Arrays.fill(scores, base, base + tile, 0f);
      return 1f;
    }
    float tileMax = Float.NEGATIVE_INFINITY;
    for (int j = 0; j < tile; j += LANES) {
      tileMax = Math.max(tileMax, FloatVector.fromArray(SPECIES, scores, base + j)
          .reduceLanes(VectorOperators.MAX));
    }
    if (tileMax == Float.POSITIVE_INFINITY) {
      // Logits past the float range (scale * q.k overflowing) are held at the largest float,
      // as in the scalar kernel: those keys then share the weight instead of making
      // exp(inf - inf) = NaN. Rare, so the scores are rewritten only when it happens.
      for (int j = 0; j < tile; j++) {
        scores[base + j] = Math.min(scores[base + j], Float.MAX_VALUE);
      }
      tileMax = Float.MAX_VALUE;
    }
    if (tileMax == Float.NEGATIVE_INFINITY) {
      java.util.Arrays.fill(scores, base, base + tile, 0f);
      return 1f;
    }
    float oldMax = max[r];
    float newMax = Math.max(oldMax, tileMax);
    float tileSum = 0f;
    for (int j = 0; j < tile; j += LANES) {
      FloatVector p = FloatVector.fromArray(SPECIES, scores, base + j).sub(newMax)
          .lanewise(VectorOperators.EXP);
      p.intoArray(scores, base + j);
      tileSum += p.reduceLanes(VectorOperators.ADD);
    }
    float correction = (float) Math.exp(oldMax - newMax);
    sum[r] = sum[r] * correction + tileSum;
    max[r] = newMax;
    return correction;
  }

  /**
   * {@code acc[r] += sum_j p[r][j] * v_j} for rows {@code [0, rows)} (accumulators from
   * {@code accBase}) and keys {@code [from, n)}, the weight of row {@code r} and key {@code j}
   * at {@code p[pBase + r * tile + j * pKeyStride]}.
   */
  static void accumulate(float[] acc, MemorySegment accSeg, int accBase, int rows, int headDim,
      float[] p, int pBase, int tile, int pKeyStride, MemorySegment values, long valueBase,
      long valueStride, int from, int n) {
    int bound = SPECIES.loopBound(headDim);
    int bound2 = bound - bound % (2 * LANES);
    int bound4 = bound - bound % (4 * LANES);
    int rows4 = rows & ~3;
    // Four rows by four (or two) vectors of the head: sixteen (or eight) independent FMA chains;
    // each value vector loaded feeds four of them, each broadcast weight four (or two).
    for (int r = 0; r < rows4; r += 4) {
      int x = 0;
      for (; x < bound4; x += 4 * LANES) {
        accumulate4x4(acc, accBase + r * headDim + x, headDim, p, pBase + r * tile, tile,
            pKeyStride, values, valueBase + 4L * x, valueStride, from, n);
      }
      for (; x < bound2; x += 2 * LANES) {
        accumulate4x2(acc, accBase + r * headDim + x, headDim, p, pBase + r * tile, tile,
            pKeyStride, values, valueBase + 4L * x, valueStride, from, n);
      }
      for (; x < bound; x += LANES) {
        for (int i = 0; i < 4; i++) {
          accumulate1(acc, accBase + (r + i) * headDim + x, p, pBase + (r + i) * tile, pKeyStride,
              values, valueBase + 4L * x, valueStride, from, n);
        }
      }
    }
    // Rows left over (all of them in MHA decode): four vectors of the head at a time.
    for (int r = rows4; r < rows; r++) {
      int o = accBase + r * headDim;
      int pr = pBase + r * tile;
      int x = 0;
      for (; x + 4 * LANES <= bound; x += 4 * LANES) {
        FloatVector a0 = FloatVector.fromArray(SPECIES, acc, o + x);
        FloatVector a1 = FloatVector.fromArray(SPECIES, acc, o + x + LANES);
        FloatVector a2 = FloatVector.fromArray(SPECIES, acc, o + x + 2 * LANES);
        FloatVector a3 = FloatVector.fromArray(SPECIES, acc, o + x + 3 * LANES);
        MemorySegment v = values;
        long vo = valueBase + from * valueStride + 4L * x;
        for (int j = from; j < n; j++, vo += valueStride) {
          FloatVector w = FloatVector.broadcast(SPECIES, p[pr + j * pKeyStride]);
          a0 = FloatVector.fromMemorySegment(SPECIES, v, vo, ORDER).fma(w, a0);
          a1 = FloatVector.fromMemorySegment(SPECIES, v, vo + 4L * LANES, ORDER).fma(w, a1);
          a2 = FloatVector.fromMemorySegment(SPECIES, v, vo + 8L * LANES, ORDER).fma(w, a2);
          a3 = FloatVector.fromMemorySegment(SPECIES, v, vo + 12L * LANES, ORDER).fma(w, a3);
        }
        a0.intoArray(acc, o + x);
        a1.intoArray(acc, o + x + LANES);
        a2.intoArray(acc, o + x + 2 * LANES);
        a3.intoArray(acc, o + x + 3 * LANES);
      }
      for (; x < bound; x += LANES) {
        accumulate1(acc, o + x, p, pr, pKeyStride, values, valueBase + 4L * x, valueStride, from, n);
      }
    }
    if (bound < headDim) { // scalar tail of every row
      for (int row = 0; row < rows; row++) {
        for (int j = from; j < n; j++) {
          ScalarOps.axpy(p[pBase + row * tile + j * pKeyStride], values, valueBase + j * valueStride, accSeg,
              4L * (accBase + row * headDim), bound, headDim);
        }
      }
    }
  }

  private static void accumulate4x4(float[] acc, int o0, int headDim, float[] p, int p0,
      int tile, int pKeyStride, MemorySegment values, long valueBase, long valueStride, int from,
      int n) {
    int o1 = o0 + headDim, o2 = o1 + headDim, o3 = o2 + headDim;
    int p1 = p0 + tile, p2 = p1 + tile, p3 = p2 + tile;
    FloatVector a00 = FloatVector.fromArray(SPECIES, acc, o0);
    FloatVector a01 = FloatVector.fromArray(SPECIES, acc, o0 + LANES);
    FloatVector a02 = FloatVector.fromArray(SPECIES, acc, o0 + 2 * LANES);
    FloatVector a03 = FloatVector.fromArray(SPECIES, acc, o0 + 3 * LANES);
    FloatVector a10 = FloatVector.fromArray(SPECIES, acc, o1);
    FloatVector a11 = FloatVector.fromArray(SPECIES, acc, o1 + LANES);
    FloatVector a12 = FloatVector.fromArray(SPECIES, acc, o1 + 2 * LANES);
    FloatVector a13 = FloatVector.fromArray(SPECIES, acc, o1 + 3 * LANES);
    FloatVector a20 = FloatVector.fromArray(SPECIES, acc, o2);
    FloatVector a21 = FloatVector.fromArray(SPECIES, acc, o2 + LANES);
    FloatVector a22 = FloatVector.fromArray(SPECIES, acc, o2 + 2 * LANES);
    FloatVector a23 = FloatVector.fromArray(SPECIES, acc, o2 + 3 * LANES);
    FloatVector a30 = FloatVector.fromArray(SPECIES, acc, o3);
    FloatVector a31 = FloatVector.fromArray(SPECIES, acc, o3 + LANES);
    FloatVector a32 = FloatVector.fromArray(SPECIES, acc, o3 + 2 * LANES);
    FloatVector a33 = FloatVector.fromArray(SPECIES, acc, o3 + 3 * LANES);
    for (int j = from; j < n; j++) {
      long vo = valueBase + j * valueStride;
      FloatVector v0 = FloatVector.fromMemorySegment(SPECIES, values, vo, ORDER);
      FloatVector v1 = FloatVector.fromMemorySegment(SPECIES, values, vo + 4L * LANES, ORDER);
      FloatVector v2 = FloatVector.fromMemorySegment(SPECIES, values, vo + 8L * LANES, ORDER);
      FloatVector v3 = FloatVector.fromMemorySegment(SPECIES, values, vo + 12L * LANES, ORDER);
      int pj = j * pKeyStride;
      FloatVector w0 = FloatVector.broadcast(SPECIES, p[p0 + pj]);
      a00 = v0.fma(w0, a00);
      a01 = v1.fma(w0, a01);
      a02 = v2.fma(w0, a02);
      a03 = v3.fma(w0, a03);
      FloatVector w1 = FloatVector.broadcast(SPECIES, p[p1 + pj]);
      a10 = v0.fma(w1, a10);
      a11 = v1.fma(w1, a11);
      a12 = v2.fma(w1, a12);
      a13 = v3.fma(w1, a13);
      FloatVector w2 = FloatVector.broadcast(SPECIES, p[p2 + pj]);
      a20 = v0.fma(w2, a20);
      a21 = v1.fma(w2, a21);
      a22 = v2.fma(w2, a22);
      a23 = v3.fma(w2, a23);
      FloatVector w3 = FloatVector.broadcast(SPECIES, p[p3 + pj]);
      a30 = v0.fma(w3, a30);
      a31 = v1.fma(w3, a31);
      a32 = v2.fma(w3, a32);
      a33 = v3.fma(w3, a33);
    }
    a00.intoArray(acc, o0);
    a01.intoArray(acc, o0 + LANES);
    a02.intoArray(acc, o0 + 2 * LANES);
    a03.intoArray(acc, o0 + 3 * LANES);
    a10.intoArray(acc, o1);
    a11.intoArray(acc, o1 + LANES);
    a12.intoArray(acc, o1 + 2 * LANES);
    a13.intoArray(acc, o1 + 3 * LANES);
    a20.intoArray(acc, o2);
    a21.intoArray(acc, o2 + LANES);
    a22.intoArray(acc, o2 + 2 * LANES);
    a23.intoArray(acc, o2 + 3 * LANES);
    a30.intoArray(acc, o3);
    a31.intoArray(acc, o3 + LANES);
    a32.intoArray(acc, o3 + 2 * LANES);
    a33.intoArray(acc, o3 + 3 * LANES);
  }

  private static void accumulate4x2(float[] acc, int o0, int headDim, float[] p, int p0,
      int tile, int pKeyStride, MemorySegment values, long valueBase, long valueStride, int from, int n) {
    int o1 = o0 + headDim, o2 = o1 + headDim, o3 = o2 + headDim;
    int p1 = p0 + tile, p2 = p1 + tile, p3 = p2 + tile;
    FloatVector a00 = FloatVector.fromArray(SPECIES, acc, o0);
    FloatVector a01 = FloatVector.fromArray(SPECIES, acc, o0 + LANES);
    FloatVector a10 = FloatVector.fromArray(SPECIES, acc, o1);
    FloatVector a11 = FloatVector.fromArray(SPECIES, acc, o1 + LANES);
    FloatVector a20 = FloatVector.fromArray(SPECIES, acc, o2);
    FloatVector a21 = FloatVector.fromArray(SPECIES, acc, o2 + LANES);
    FloatVector a30 = FloatVector.fromArray(SPECIES, acc, o3);
    FloatVector a31 = FloatVector.fromArray(SPECIES, acc, o3 + LANES);
    for (int j = from; j < n; j++) {
      long vo = valueBase + j * valueStride;
      FloatVector v0 = FloatVector.fromMemorySegment(SPECIES, values, vo, ORDER);
      FloatVector v1 = FloatVector.fromMemorySegment(SPECIES, values, vo + 4L * LANES, ORDER);
      FloatVector w0 = FloatVector.broadcast(SPECIES, p[p0 + j * pKeyStride]);
      a00 = v0.fma(w0, a00);
      a01 = v1.fma(w0, a01);
      FloatVector w1 = FloatVector.broadcast(SPECIES, p[p1 + j * pKeyStride]);
      a10 = v0.fma(w1, a10);
      a11 = v1.fma(w1, a11);
      FloatVector w2 = FloatVector.broadcast(SPECIES, p[p2 + j * pKeyStride]);
      a20 = v0.fma(w2, a20);
      a21 = v1.fma(w2, a21);
      FloatVector w3 = FloatVector.broadcast(SPECIES, p[p3 + j * pKeyStride]);
      a30 = v0.fma(w3, a30);
      a31 = v1.fma(w3, a31);
    }
    a00.intoArray(acc, o0);
    a01.intoArray(acc, o0 + LANES);
    a10.intoArray(acc, o1);
    a11.intoArray(acc, o1 + LANES);
    a20.intoArray(acc, o2);
    a21.intoArray(acc, o2 + LANES);
    a30.intoArray(acc, o3);
    a31.intoArray(acc, o3 + LANES);
  }

  private static void accumulate1(float[] acc, int o, float[] p, int pr, int pKeyStride,
      MemorySegment values, long base, long stride, int from, int n) {
    FloatVector a = FloatVector.fromArray(SPECIES, acc, o);
    for (int j = from; j < n; j++) {
      a = FloatVector.fromMemorySegment(SPECIES, values, base + j * stride, ORDER)
          .fma(FloatVector.broadcast(SPECIES, p[pr + j * pKeyStride]), a);
    }
    a.intoArray(acc, o);
  }

  /** {@code dst[dstOff..] += c * src[srcOff..]} over {@code len} floats. */
  static void addScaled(float[] src, int srcOff, float c, float[] dst, int dstOff, int len) {
    int bound = SPECIES.loopBound(len);
    for (int x = 0; x < bound; x += LANES) {
      FloatVector.fromArray(SPECIES, src, srcOff + x)
          .fma(FloatVector.broadcast(SPECIES, c), FloatVector.fromArray(SPECIES, dst, dstOff + x))
          .intoArray(dst, dstOff + x);
    }
    for (int x = bound; x < len; x++) {
      dst[dstOff + x] += c * src[srcOff + x];
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

  /**
   * {@code q[dst..] = c * src[srcOff..]} for one head: loads a query row, pre-scaled, and says
   * whether any element came out NaN or infinite. The row is
   * copied in bulk rather than loaded as vectors, because the Vector API's segment loads share
   * one type profile in the JDK: callers' heap segments (float[] queries) in it slow the loads
   * from native KV blocks (see {@code PanamaAttentionKernel.Scratch#rowsSeg}).
   */
  static boolean loadScaled(MemorySegment src, long srcOff, float c, float[] dst, int dstOff,
      int len) {
    copyIn(src, srcOff, dst, dstOff, len);
    return scaleLoaded(dst, dstOff, c, len);
  }

  /**
   * {@code dst[dstOff, dstOff + len) *= c} for one loaded head, saying whether any element came
   * out NaN or infinite. Callers keep {@code len} to one head: over many heads at once, the
   * vector this loop carries was seen to defeat C2 now and then, which then boxed it on every
   * call.
   */
  static boolean scaleLoaded(float[] dst, int dstOff, float c, int len) {
    int bound = SPECIES.loopBound(len);
    // x * 0 is 0 for a finite x, NaN otherwise: the sum says whether the row came out finite.
    FloatVector zeros = FloatVector.zero(SPECIES);
    for (int x = 0; x < bound; x += LANES) {
      FloatVector scaled = FloatVector.fromArray(SPECIES, dst, dstOff + x).mul(c);
      scaled.intoArray(dst, dstOff + x);
      zeros = zeros.add(scaled.mul(0f));
    }
    float tail = 0f;
    for (int x = bound; x < len; x++) {
      dst[dstOff + x] *= c;
      tail += dst[dstOff + x] * 0f;
    }
    return zeros.reduceLanes(VectorOperators.ADD) + tail != 0f;
  }

  /**
   * {@code out[outOff..] = c * a[off..]} for one head: writes a finished output row, scaling it
   * in place and copying it in bulk, for the reason given at {@link #loadScaled}.
   */
  static void store(float[] a, int off, float c, MemorySegment out, long outOff, int len) {
    scaleRow(a, off, c, len);
    copyOut(a, off, out, outOff, len);
  }

  /** {@code a[off, off + len) *= c}, all on the heap. */
  static void scaleRow(float[] a, int off, float c, int len) {
    int bound = SPECIES.loopBound(len);
    for (int x = 0; x < bound; x += LANES) {
      FloatVector.fromArray(SPECIES, a, off + x).mul(c).intoArray(a, off + x);
    }
    for (int x = bound; x < len; x++) {
      a[off + x] *= c;
    }
  }

  /** {@code dst[dstOff..] = src[srcOff..]}: query rows, copied in bulk (see {@link #loadScaled}). */
  static void copyIn(MemorySegment src, long srcOff, float[] dst, int dstOff, int len) {
    MemorySegment.copy(src, F32, srcOff, dst, dstOff, len);
  }

  /** {@code out[outOff..] = a[off..]}: finished rows, copied in bulk. */
  static void copyOut(float[] a, int off, MemorySegment out, long outOff, int len) {
    MemorySegment.copy(a, off, out, F32, outOff, len);
  }
}
