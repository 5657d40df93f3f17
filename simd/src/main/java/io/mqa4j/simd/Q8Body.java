package io.mqa4j.simd;

import static io.mqa4j.simd.VectorConstants.LANES;
import static io.mqa4j.simd.VectorConstants.SPECIES;

import io.mqa4j.core.KvType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link AttentionBody}'s scores and weighted sums for q8_0 keys and values, read straight from
 * the cache with no widened copy. Each vector of {@code LANES} elements comes from as many signed
 * bytes of one block, sign-extended and converted in registers, and is multiplied by its block's
 * scale (or, in weighted sums, the scale is folded into the weight). The loops step by pairs of
 * vectors: a q8_0 block of 32 elements holds a whole number of pairs at every lane count.
 */
final class Q8Body {
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
  private static final ValueLayout.OfShort SHORT_LE =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
  /** Bytes loaded per vector: as many as there are lanes, but never under 64 bits. */
  private static final VectorSpecies<Byte> BYTES =
      VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, LANES * 8)));
  /** Vectors of floats per byte load: 2 with 4 lanes (a 64-bit load), else 1. */
  private static final int PARTS = BYTES.length() / LANES;
  private static final int PAIR = 2 * LANES;
  private static final int BLOCK = KvType.Q8_0_BLOCK;
  private static final int BLOCK_BYTES = KvType.Q8_0_BLOCK_BYTES;

  private Q8Body() {}

  private static float scale(MemorySegment s, long block) {
    return Float.float16ToFloat(s.get(SHORT_LE, block));
  }

  private static ByteVector load(MemorySegment s, long at) {
    return ByteVector.fromMemorySegment(BYTES, s, at, LE);
  }

  /** The first vector of the pair of elements whose bytes start at {@code at}, unscaled. */
  private static FloatVector low(MemorySegment s, long at) {
    return (FloatVector) load(s, at).convertShape(VectorOperators.B2F, SPECIES, 0);
  }

  /** The second vector of that pair: a load of its own, or the second half of the first's. */
  private static FloatVector high(MemorySegment s, long at) {
    return PARTS == 1
        ? (FloatVector) load(s, at + LANES).convertShape(VectorOperators.B2F, SPECIES, 0)
        : (FloatVector) load(s, at).convertShape(VectorOperators.B2F, SPECIES, 1);
  }

  /** As {@link AttentionBody#scores}, for q8_0 keys ({@code headDim} a multiple of 32). */
  static void scores(float[] q, int qBase, int rows, int headDim, MemorySegment keys, long keyBase,
      long keyStride, int from, int n, float[] scores, int scoreBase, int tile) {
    int rows4 = rows & ~3;
    int j = from;
    for (; j + 2 <= n; j += 2) {
      for (int r = 0; r < rows4; r += 4) {
        dot4x2(q, qBase + r * headDim, headDim, keys, keyBase + j * keyStride,
            keyBase + (j + 1) * keyStride, scores, scoreBase + r * tile + j, tile);
      }
    }
    for (; j < n; j++) {
      for (int r = 0; r < rows4; r++) {
        scores[scoreBase + r * tile + j] =
            dot1x1(q, qBase + r * headDim, headDim, keys, keyBase + j * keyStride);
      }
    }
    for (int r = rows4; r < rows; r++) {
      // Rows of two parts (head dim 256 at 512-bit) take two passes, the second adding its
      // partial sums to the first's: faster than dot1x4 in five JVMs of seven. Longer rows were
      // not measured and keep dot1x4.
      if (headDim == RESIDENT_DIM || headDim == 2 * RESIDENT_DIM) {
        for (int part = 0; part < headDim / RESIDENT_DIM; part++) {
          scoresResident(q, qBase + r * headDim + part * RESIDENT_DIM, keys,
              keyBase + (long) part * (RESIDENT_DIM / BLOCK) * BLOCK_BYTES, keyStride, from, n,
              scores, scoreBase + r * tile, part > 0);
        }
        continue;
      }
      if (headDim == RESIDENT_DIM / 2) {
        scoresResidentHalf(q, qBase + r * headDim, keys, keyBase, keyStride, from, n, scores,
            scoreBase + r * tile);
        continue;
      }
      int k = from;
      for (; k + 4 <= n; k += 4) {
        dot1x4(q, qBase + r * headDim, headDim, keys, keyBase + k * keyStride, keyStride, scores,
            scoreBase + r * tile + k);
      }
      for (; k < n; k++) {
        scores[scoreBase + r * tile + k] =
            dot1x1(q, qBase + r * headDim, headDim, keys, keyBase + k * keyStride);
      }
    }
  }

  /**
   * As {@link #scores} for the rows of {@code heads} consecutive KV heads, {@code rowsPerHead}
   * (four or more) each (decode with groups of four or more): the four-row blocks, and the last
   * three rows of a group of seven, pair of keys by pair of keys across the heads, so the rows
   * are read in address order; one or two rows left over (groups of five and six) head by head
   * afterwards, from lines just read. Walked head by head, each head's rows (136 bytes at head
   * dim 128, starting and ending inside cache lines) lie a token's width apart, and one thread
   * read them at about half the rate per element it read bf16 rows walked that way. The four-row
   * blocks give {@link #scores}'s results bit for bit; three rows scored together round as the
   * four-row blocks do, not as {@link #scores}'s one-row loops.
   */
  static void scoresAcrossHeads(float[] q, int rowsPerHead, int heads, int headDim,
      MemorySegment keys, long keyBase, long headBytes, long keyStride, int from, int n,
      float[] scores, int tile) {
    int rows4 = rowsPerHead & ~3;
    // Three rows left (a group of seven) join the walk, three at a time: a pass of their own
    // each, head by head, cost the group of seven 20-40% over bf16.
    boolean three = rowsPerHead - rows4 == 3;
    int j = from;
    for (; j + 2 <= n; j += 2) {
      for (int g = 0; g < heads; g++) {
        long o = keyBase + g * headBytes + j * keyStride;
        for (int r = 0; r < rows4; r += 4) {
          int row = g * rowsPerHead + r;
          dot4x2(q, row * headDim, headDim, keys, o, o + keyStride, scores, row * tile + j,
              tile);
        }
        if (three) {
          int row = g * rowsPerHead + rows4;
          dot3x2(q, row * headDim, headDim, keys, o, o + keyStride, scores, row * tile + j,
              tile);
        }
      }
    }
    int walked = three ? rowsPerHead : rows4;
    if (j < n) {
      for (int g = 0; g < heads; g++) {
        long o = keyBase + g * headBytes + j * keyStride;
        for (int r = 0; r < walked; r++) {
          int row = g * rowsPerHead + r;
          scores[row * tile + j] = dot1x1(q, row * headDim, headDim, keys, o);
        }
      }
    }
    if (walked < rowsPerHead) {
      for (int g = 0; g < heads; g++) {
        int row = g * rowsPerHead + walked;
        scores(q, row * headDim, rowsPerHead - walked, headDim, keys, keyBase + g * headBytes,
            keyStride, from, n, scores, row * tile, tile);
      }
    }
  }

  // Four rows by two keys: each key's pair of vectors converted and scaled once, then sixteen
  // multiply-adds into eight chains.
  private static void dot4x2(float[] q, int q0, int headDim, MemorySegment k, long o0, long o1,
      float[] scores, int s0, int tile) {
    int q1 = q0 + headDim, q2 = q1 + headDim, q3 = q2 + headDim;
    FloatVector a00 = FloatVector.zero(SPECIES), a10 = a00, a20 = a00, a30 = a00;
    FloatVector a01 = a00, a11 = a00, a21 = a00, a31 = a00;
    for (int b = 0; b < headDim / BLOCK; b++) {
      long b0 = o0 + (long) b * BLOCK_BYTES, b1 = o1 + (long) b * BLOCK_BYTES;
      float c0 = scale(k, b0), c1 = scale(k, b1);
      for (int e = 0; e < BLOCK; e += PAIR) {
        int x = b * BLOCK + e;
        FloatVector k0 = low(k, b0 + 2 + e).mul(c0), h0 = high(k, b0 + 2 + e).mul(c0);
        FloatVector k1 = low(k, b1 + 2 + e).mul(c1), h1 = high(k, b1 + 2 + e).mul(c1);
        FloatVector ql = FloatVector.fromArray(SPECIES, q, q0 + x);
        FloatVector qh = FloatVector.fromArray(SPECIES, q, q0 + x + LANES);
        a00 = qh.fma(h0, ql.fma(k0, a00));
        a01 = qh.fma(h1, ql.fma(k1, a01));
        ql = FloatVector.fromArray(SPECIES, q, q1 + x);
        qh = FloatVector.fromArray(SPECIES, q, q1 + x + LANES);
        a10 = qh.fma(h0, ql.fma(k0, a10));
        a11 = qh.fma(h1, ql.fma(k1, a11));
        ql = FloatVector.fromArray(SPECIES, q, q2 + x);
        qh = FloatVector.fromArray(SPECIES, q, q2 + x + LANES);
        a20 = qh.fma(h0, ql.fma(k0, a20));
        a21 = qh.fma(h1, ql.fma(k1, a21));
        ql = FloatVector.fromArray(SPECIES, q, q3 + x);
        qh = FloatVector.fromArray(SPECIES, q, q3 + x + LANES);
        a30 = qh.fma(h0, ql.fma(k0, a30));
        a31 = qh.fma(h1, ql.fma(k1, a31));
      }
    }
    scores[s0] = a00.reduceLanes(VectorOperators.ADD);
    scores[s0 + 1] = a01.reduceLanes(VectorOperators.ADD);
    scores[s0 + tile] = a10.reduceLanes(VectorOperators.ADD);
    scores[s0 + tile + 1] = a11.reduceLanes(VectorOperators.ADD);
    scores[s0 + 2 * tile] = a20.reduceLanes(VectorOperators.ADD);
    scores[s0 + 2 * tile + 1] = a21.reduceLanes(VectorOperators.ADD);
    scores[s0 + 3 * tile] = a30.reduceLanes(VectorOperators.ADD);
    scores[s0 + 3 * tile + 1] = a31.reduceLanes(VectorOperators.ADD);
  }

  // dot4x2 for three rows: six chains.
  private static void dot3x2(float[] q, int q0, int headDim, MemorySegment k, long o0, long o1,
      float[] scores, int s0, int tile) {
    int q1 = q0 + headDim, q2 = q1 + headDim;
    FloatVector a00 = FloatVector.zero(SPECIES), a10 = a00, a20 = a00;
    FloatVector a01 = a00, a11 = a00, a21 = a00;
    for (int b = 0; b < headDim / BLOCK; b++) {
      long b0 = o0 + (long) b * BLOCK_BYTES, b1 = o1 + (long) b * BLOCK_BYTES;
      float c0 = scale(k, b0), c1 = scale(k, b1);
      for (int e = 0; e < BLOCK; e += PAIR) {
        int x = b * BLOCK + e;
        FloatVector k0 = low(k, b0 + 2 + e).mul(c0), h0 = high(k, b0 + 2 + e).mul(c0);
        FloatVector k1 = low(k, b1 + 2 + e).mul(c1), h1 = high(k, b1 + 2 + e).mul(c1);
        FloatVector ql = FloatVector.fromArray(SPECIES, q, q0 + x);
        FloatVector qh = FloatVector.fromArray(SPECIES, q, q0 + x + LANES);
        a00 = qh.fma(h0, ql.fma(k0, a00));
        a01 = qh.fma(h1, ql.fma(k1, a01));
        ql = FloatVector.fromArray(SPECIES, q, q1 + x);
        qh = FloatVector.fromArray(SPECIES, q, q1 + x + LANES);
        a10 = qh.fma(h0, ql.fma(k0, a10));
        a11 = qh.fma(h1, ql.fma(k1, a11));
        ql = FloatVector.fromArray(SPECIES, q, q2 + x);
        qh = FloatVector.fromArray(SPECIES, q, q2 + x + LANES);
        a20 = qh.fma(h0, ql.fma(k0, a20));
        a21 = qh.fma(h1, ql.fma(k1, a21));
      }
    }
    scores[s0] = a00.reduceLanes(VectorOperators.ADD);
    scores[s0 + 1] = a01.reduceLanes(VectorOperators.ADD);
    scores[s0 + tile] = a10.reduceLanes(VectorOperators.ADD);
    scores[s0 + tile + 1] = a11.reduceLanes(VectorOperators.ADD);
    scores[s0 + 2 * tile] = a20.reduceLanes(VectorOperators.ADD);
    scores[s0 + 2 * tile + 1] = a21.reduceLanes(VectorOperators.ADD);
  }

  // One row by four keys: per block and key, an unscaled partial dot product, then one
  // multiply-add by the block's scale into the key's sum.
  private static void dot1x4(float[] q, int q0, int headDim, MemorySegment keys, long o0,
      long stride, float[] scores, int s0) {
    FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0;
    for (int b = 0; b < headDim / BLOCK; b++) {
      long b0 = o0 + (long) b * BLOCK_BYTES, b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
      FloatVector t0 = FloatVector.zero(SPECIES), t1 = t0, t2 = t0, t3 = t0;
      for (int e = 0; e < BLOCK; e += PAIR) {
        FloatVector ql = FloatVector.fromArray(SPECIES, q, q0 + b * BLOCK + e);
        FloatVector qh = FloatVector.fromArray(SPECIES, q, q0 + b * BLOCK + e + LANES);
        t0 = qh.fma(high(keys, b0 + 2 + e), ql.fma(low(keys, b0 + 2 + e), t0));
        t1 = qh.fma(high(keys, b1 + 2 + e), ql.fma(low(keys, b1 + 2 + e), t1));
        t2 = qh.fma(high(keys, b2 + 2 + e), ql.fma(low(keys, b2 + 2 + e), t2));
        t3 = qh.fma(high(keys, b3 + 2 + e), ql.fma(low(keys, b3 + 2 + e), t3));
      }
      a0 = t0.fma(FloatVector.broadcast(SPECIES, scale(keys, b0)), a0);
      a1 = t1.fma(FloatVector.broadcast(SPECIES, scale(keys, b1)), a1);
      a2 = t2.fma(FloatVector.broadcast(SPECIES, scale(keys, b2)), a2);
      a3 = t3.fma(FloatVector.broadcast(SPECIES, scale(keys, b3)), a3);
    }
    scores[s0] = a0.reduceLanes(VectorOperators.ADD);
    scores[s0 + 1] = a1.reduceLanes(VectorOperators.ADD);
    scores[s0 + 2] = a2.reduceLanes(VectorOperators.ADD);
    scores[s0 + 3] = a3.reduceLanes(VectorOperators.ADD);
  }

  /**
   * The head dim whose query row {@link #scoresResident} holds in eight registers, and the part
   * of a longer row it scores per pass.
   */
  static final int RESIDENT_DIM = 4 * PAIR;

  /** Where, from the start of a row or part, the bytes of pair {@code pair} start. */
  private static long pairBytes(int pair) {
    return (long) (pair * PAIR / BLOCK) * BLOCK_BYTES + 2 + pair * PAIR % BLOCK;
  }

  /** Where, from the start of a row or part, the block holding pair {@code pair} starts. */
  private static long pairBlock(int pair) {
    return (long) (pair * PAIR / BLOCK) * BLOCK_BYTES;
  }

  // As AttentionBody.scoresResident, for q8_0 keys: the row held in registers, one loop over
  // the keys, no loop over the head restarted for every four keys.
  private static void scoresResident(float[] q, int q0, MemorySegment keys, long keyBase,
      long stride, int from, int n, float[] scores, int s0, boolean add) {
    FloatVector l0 = FloatVector.fromArray(SPECIES, q, q0);
    FloatVector h0 = FloatVector.fromArray(SPECIES, q, q0 + LANES);
    FloatVector l1 = FloatVector.fromArray(SPECIES, q, q0 + PAIR);
    FloatVector h1 = FloatVector.fromArray(SPECIES, q, q0 + PAIR + LANES);
    FloatVector l2 = FloatVector.fromArray(SPECIES, q, q0 + 2 * PAIR);
    FloatVector h2 = FloatVector.fromArray(SPECIES, q, q0 + 2 * PAIR + LANES);
    FloatVector l3 = FloatVector.fromArray(SPECIES, q, q0 + 3 * PAIR);
    FloatVector h3 = FloatVector.fromArray(SPECIES, q, q0 + 3 * PAIR + LANES);
    for (int k = from; k < n; k++) {
      long a = keyBase + k * stride;
      FloatVector t0 = h0.fma(high(keys, a + pairBytes(0)), l0.mul(low(keys, a + pairBytes(0))));
      FloatVector t1 = h1.fma(high(keys, a + pairBytes(1)), l1.mul(low(keys, a + pairBytes(1))));
      FloatVector t2 = h2.fma(high(keys, a + pairBytes(2)), l2.mul(low(keys, a + pairBytes(2))));
      FloatVector t3 = h3.fma(high(keys, a + pairBytes(3)), l3.mul(low(keys, a + pairBytes(3))));
      FloatVector acc = t0.mul(scale(keys, a + pairBlock(0)));
      acc = t1.fma(FloatVector.broadcast(SPECIES, scale(keys, a + pairBlock(1))), acc);
      acc = t2.fma(FloatVector.broadcast(SPECIES, scale(keys, a + pairBlock(2))), acc);
      acc = t3.fma(FloatVector.broadcast(SPECIES, scale(keys, a + pairBlock(3))), acc);
      float sum = acc.reduceLanes(VectorOperators.ADD);
      scores[s0 + k] = add ? scores[s0 + k] + sum : sum;
    }
  }

  // scoresResident for rows of half its length (head dim 64 at 512-bit, where dot1x4's block
  // loop ran only twice per four keys). Never at 128-bit vectors: 16 is no whole q8_0 block.
  private static void scoresResidentHalf(float[] q, int q0, MemorySegment keys, long keyBase,
      long stride, int from, int n, float[] scores, int s0) {
    FloatVector l0 = FloatVector.fromArray(SPECIES, q, q0);
    FloatVector h0 = FloatVector.fromArray(SPECIES, q, q0 + LANES);
    FloatVector l1 = FloatVector.fromArray(SPECIES, q, q0 + PAIR);
    FloatVector h1 = FloatVector.fromArray(SPECIES, q, q0 + PAIR + LANES);
    for (int k = from; k < n; k++) {
      long a = keyBase + k * stride;
      FloatVector t0 = h0.fma(high(keys, a + pairBytes(0)), l0.mul(low(keys, a + pairBytes(0))));
      FloatVector t1 = h1.fma(high(keys, a + pairBytes(1)), l1.mul(low(keys, a + pairBytes(1))));
      FloatVector acc = t0.mul(scale(keys, a + pairBlock(0)));
      acc = t1.fma(FloatVector.broadcast(SPECIES, scale(keys, a + pairBlock(1))), acc);
      scores[s0 + k] = acc.reduceLanes(VectorOperators.ADD);
    }
  }

  private static float dot1x1(float[] q, int q0, int headDim, MemorySegment k, long o) {
    FloatVector a = FloatVector.zero(SPECIES);
    for (int b = 0; b < headDim / BLOCK; b++) {
      long bo = o + (long) b * BLOCK_BYTES;
      FloatVector t = FloatVector.zero(SPECIES);
      for (int e = 0; e < BLOCK; e += PAIR) {
        int x = q0 + b * BLOCK + e;
        t = FloatVector.fromArray(SPECIES, q, x + LANES).fma(high(k, bo + 2 + e),
            FloatVector.fromArray(SPECIES, q, x).fma(low(k, bo + 2 + e), t));
      }
      a = t.fma(FloatVector.broadcast(SPECIES, scale(k, bo)), a);
    }
    return a.reduceLanes(VectorOperators.ADD);
  }

  /** As {@link AttentionBody#accumulate}, for q8_0 values ({@code headDim} a multiple of 32). */
  static void accumulate(float[] acc, int accBase, int rows, int headDim, float[] p, int pBase,
      int tile, int pKeyStride, MemorySegment values, long valueBase, long valueStride, int from,
      int n) {
    int rows4 = rows & ~3;
    for (int r = 0; r < rows4; r += 4) {
      for (int x = 0; x < headDim; x += PAIR) {
        accumulate4x1(acc, accBase + r * headDim, x, headDim, p, pBase + r * tile, tile,
            pKeyStride, values, valueBase, valueStride, from, n);
      }
    }
    if (rows - rows4 == 3) {
      // Three rows left (groups of three and seven): one pass over the values for all three,
      // not one each.
      for (int x = 0; x < headDim; x += PAIR) {
        accumulate3x1(acc, accBase + rows4 * headDim, x, headDim, p, pBase + rows4 * tile, tile,
            pKeyStride, values, valueBase, valueStride, from, n);
      }
      return;
    }
    for (int r = rows4; r < rows; r++) {
      int o = accBase + r * headDim;
      int pr = pBase + r * tile;
      int x = 0;
      // Two pairs of vectors at a time: four chains, the weight times each block's scale.
      for (; x + 2 * PAIR <= headDim; x += 2 * PAIR) {
        FloatVector a0 = FloatVector.fromArray(SPECIES, acc, o + x);
        FloatVector a1 = FloatVector.fromArray(SPECIES, acc, o + x + LANES);
        FloatVector a2 = FloatVector.fromArray(SPECIES, acc, o + x + PAIR);
        FloatVector a3 = FloatVector.fromArray(SPECIES, acc, o + x + PAIR + LANES);
        long b0 = valueBase + (long) (x / BLOCK) * BLOCK_BYTES;
        long b1 = valueBase + (long) ((x + PAIR) / BLOCK) * BLOCK_BYTES;
        long at0 = b0 + 2 + x % BLOCK, at1 = b1 + 2 + (x + PAIR) % BLOCK;
        for (int j = from; j < n; j++) {
          long row = j * valueStride;
          float w = p[pr + j * pKeyStride];
          FloatVector w0 = FloatVector.broadcast(SPECIES, w * scale(values, b0 + row));
          FloatVector w1 = FloatVector.broadcast(SPECIES, w * scale(values, b1 + row));
          a0 = low(values, at0 + row).fma(w0, a0);
          a1 = high(values, at0 + row).fma(w0, a1);
          a2 = low(values, at1 + row).fma(w1, a2);
          a3 = high(values, at1 + row).fma(w1, a3);
        }
        a0.intoArray(acc, o + x);
        a1.intoArray(acc, o + x + LANES);
        a2.intoArray(acc, o + x + PAIR);
        a3.intoArray(acc, o + x + PAIR + LANES);
      }
      for (; x < headDim; x += PAIR) {
        FloatVector a0 = FloatVector.fromArray(SPECIES, acc, o + x);
        FloatVector a1 = FloatVector.fromArray(SPECIES, acc, o + x + LANES);
        long b0 = valueBase + (long) (x / BLOCK) * BLOCK_BYTES;
        long at = b0 + 2 + x % BLOCK;
        for (int j = from; j < n; j++) {
          long row = j * valueStride;
          FloatVector w = FloatVector.broadcast(SPECIES, p[pr + j * pKeyStride] * scale(values, b0 + row));
          a0 = low(values, at + row).fma(w, a0);
          a1 = high(values, at + row).fma(w, a1);
        }
        a0.intoArray(acc, o + x);
        a1.intoArray(acc, o + x + LANES);
      }
    }
  }

  // Four rows by one pair of vectors: the pair converted and scaled once per key, then eight
  // multiply-adds into chains of their own.
  private static void accumulate4x1(float[] acc, int o0, int x, int headDim, float[] p, int p0,
      int tile, int pKeyStride, MemorySegment values, long valueBase, long valueStride, int from,
      int n) {
    int o1 = o0 + headDim, o2 = o1 + headDim, o3 = o2 + headDim;
    int p1 = p0 + tile, p2 = p1 + tile, p3 = p2 + tile;
    long block = valueBase + (long) (x / BLOCK) * BLOCK_BYTES;
    long at = block + 2 + x % BLOCK;
    FloatVector l0 = FloatVector.fromArray(SPECIES, acc, o0 + x);
    FloatVector h0 = FloatVector.fromArray(SPECIES, acc, o0 + x + LANES);
    FloatVector l1 = FloatVector.fromArray(SPECIES, acc, o1 + x);
    FloatVector h1 = FloatVector.fromArray(SPECIES, acc, o1 + x + LANES);
    FloatVector l2 = FloatVector.fromArray(SPECIES, acc, o2 + x);
    FloatVector h2 = FloatVector.fromArray(SPECIES, acc, o2 + x + LANES);
    FloatVector l3 = FloatVector.fromArray(SPECIES, acc, o3 + x);
    FloatVector h3 = FloatVector.fromArray(SPECIES, acc, o3 + x + LANES);
    for (int j = from; j < n; j++) {
      long row = j * valueStride;
      float c = scale(values, block + row);
      FloatVector vl = low(values, at + row).mul(c), vh = high(values, at + row).mul(c);
      int pj = j * pKeyStride;
      FloatVector w = FloatVector.broadcast(SPECIES, p[p0 + pj]);
      l0 = vl.fma(w, l0);
      h0 = vh.fma(w, h0);
      w = FloatVector.broadcast(SPECIES, p[p1 + pj]);
      l1 = vl.fma(w, l1);
      h1 = vh.fma(w, h1);
      w = FloatVector.broadcast(SPECIES, p[p2 + pj]);
      l2 = vl.fma(w, l2);
      h2 = vh.fma(w, h2);
      w = FloatVector.broadcast(SPECIES, p[p3 + pj]);
      l3 = vl.fma(w, l3);
      h3 = vh.fma(w, h3);
    }
    l0.intoArray(acc, o0 + x);
    h0.intoArray(acc, o0 + x + LANES);
    l1.intoArray(acc, o1 + x);
    h1.intoArray(acc, o1 + x + LANES);
    l2.intoArray(acc, o2 + x);
    h2.intoArray(acc, o2 + x + LANES);
    l3.intoArray(acc, o3 + x);
    h3.intoArray(acc, o3 + x + LANES);
  }

  // accumulate4x1 for three rows: six chains.
  private static void accumulate3x1(float[] acc, int o0, int x, int headDim, float[] p, int p0,
      int tile, int pKeyStride, MemorySegment values, long valueBase, long valueStride, int from,
      int n) {
    int o1 = o0 + headDim, o2 = o1 + headDim;
    int p1 = p0 + tile, p2 = p1 + tile;
    long block = valueBase + (long) (x / BLOCK) * BLOCK_BYTES;
    long at = block + 2 + x % BLOCK;
    FloatVector l0 = FloatVector.fromArray(SPECIES, acc, o0 + x);
    FloatVector h0 = FloatVector.fromArray(SPECIES, acc, o0 + x + LANES);
    FloatVector l1 = FloatVector.fromArray(SPECIES, acc, o1 + x);
    FloatVector h1 = FloatVector.fromArray(SPECIES, acc, o1 + x + LANES);
    FloatVector l2 = FloatVector.fromArray(SPECIES, acc, o2 + x);
    FloatVector h2 = FloatVector.fromArray(SPECIES, acc, o2 + x + LANES);
    for (int j = from; j < n; j++) {
      long row = j * valueStride;
      float c = scale(values, block + row);
      FloatVector vl = low(values, at + row).mul(c), vh = high(values, at + row).mul(c);
      int pj = j * pKeyStride;
      FloatVector w = FloatVector.broadcast(SPECIES, p[p0 + pj]);
      l0 = vl.fma(w, l0);
      h0 = vh.fma(w, h0);
      w = FloatVector.broadcast(SPECIES, p[p1 + pj]);
      l1 = vl.fma(w, l1);
      h1 = vh.fma(w, h1);
      w = FloatVector.broadcast(SPECIES, p[p2 + pj]);
      l2 = vl.fma(w, l2);
      h2 = vh.fma(w, h2);
    }
    l0.intoArray(acc, o0 + x);
    h0.intoArray(acc, o0 + x + LANES);
    l1.intoArray(acc, o1 + x);
    h1.intoArray(acc, o1 + x + LANES);
    l2.intoArray(acc, o2 + x);
    h2.intoArray(acc, o2 + x + LANES);
  }
}
