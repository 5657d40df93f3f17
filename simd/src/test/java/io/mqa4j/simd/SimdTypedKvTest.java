package io.mqa4j.simd;

import static io.mqa4j.core.testkit.KernelChecks.assertClose;
import static io.mqa4j.core.testkit.KernelChecks.options;
import static io.mqa4j.core.testkit.KernelChecks.tolerance;
import static io.mqa4j.core.testkit.KernelChecks.values;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvType;
import io.mqa4j.core.KvView;
import io.mqa4j.core.PagedKvCache;
import io.mqa4j.core.testkit.KvContents;
import io.mqa4j.core.testkit.Oracle;
import io.mqa4j.core.testkit.SlidingWindowRelease;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The SIMD kernel over f16, bf16 and q8_0 caches: exact conversions, oracle agreement, batches. */
class SimdTypedKvTest {

  private static final ValueLayout.OfShort SHORT_LE =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  @Test
  void aSequenceReleasedBehindItsWindowAttendsAsTheWholeOne() {
    for (KvType type : KvType.values()) {
      SlidingWindowRelease.check(AttentionKernels.simd(1), type, false);
      SlidingWindowRelease.check(AttentionKernels.simd(2), type, false); // keys split in two
    }
  }

  @Test
  void everyHalfAndBfloatBitPatternConvertsExactly() {
    try (Arena arena = Arena.ofConfined()) {
      int n = 1 << 16;
      MemorySegment all = arena.allocate(2L * n + 2);
      for (int i = 0; i < n; i++) {
        all.set(SHORT_LE, 2 + 2L * i, (short) i); // odd placement: loads are unaligned
      }
      float[] out = new float[n];
      for (KvType type : new KvType[] {KvType.F16, KvType.BF16}) {
        // One "head" of 2^16 elements holds every pattern; 2^16 is a multiple of every lane count.
        TypedRows.convert(type, all, 2, 0, 0, 1, 1, n, MemorySegment.ofArray(out));
        for (int i = 0; i < n; i++) {
          float expected = type.element(all, 2, i);
          assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(out[i]),
              type + " pattern 0x" + Integer.toHexString(i));
        }
      }
    }
  }

  @Test
  void q8BlocksConvertExactlyAndTailsOfOddHeadDimsToo() {
    Random random = new Random(1);
    try (Arena arena = Arena.ofConfined()) {
      for (KvType type : KvType.values()) {
        if (type == KvType.F32) continue;
        for (int d : type == KvType.Q8_0 ? new int[] {32, 64, 96, 256} : new int[] {1, 3, 17, 100, 129}) {
          int heads = 3;
          int tokens = 5;
          long headBytes = type.headBytes(d);
          MemorySegment seg = arena.allocate(tokens * heads * headBytes);
          float[] src = values(random, d);
          for (int t = 0; t < tokens; t++) {
            for (int g = 0; g < heads; g++) {
              for (int x = 0; x < d; x++) src[x] = (float) random.nextGaussian() * (1 + t + g);
              type.encode(src, 0, d, seg, (t * heads + g) * headBytes);
            }
          }
          float[] out = new float[tokens * heads * d];
          TypedRows.convert(type, seg, 0, heads * headBytes, 1, 4, heads, d, MemorySegment.ofArray(out));
          for (int t = 1; t < 4; t++) {
            for (int g = 0; g < heads; g++) {
              for (int x = 0; x < d; x++) {
                assertEquals(type.element(seg, (t * heads + g) * headBytes, x), out[((t - 1) * heads + g) * d + x],
                    type + " d=" + d + " t=" + t + " g=" + g + " x=" + x);
              }
            }
          }
        }
      }
    }
  }

  @Property(tries = 60)
  void matchesTheOracleOnDequantisedValuesAndTheScalarKernel(
      @ForAll @IntRange(min = 0, max = 3) int typeIndex,
      @ForAll @IntRange(min = 0, max = 5) int log2Heads,
      @ForAll @IntRange(min = 0, max = 5) int log2Group,
      @ForAll @IntRange(min = 1, max = 5) int headDimBlocks,
      @ForAll @IntRange(min = 1, max = 700) int numKeys,
      @ForAll @IntRange(min = 1, max = 20) int numQueries,
      @ForAll @IntRange(min = 1, max = 40) int blockTokens,
      @ForAll @IntRange(min = 0, max = 127) int optionBits,
      @ForAll @IntRange(min = 1, max = 3) int threads,
      @ForAll long seed) {
    KvType type = KvType.values()[typeIndex];
    int queryHeads = 1 << log2Heads;
    int kvHeads = Math.max(1, queryHeads >> log2Group);
    // q8_0 needs multiples of 32; the others get odd head dims too.
    int headDim = type == KvType.Q8_0 ? 32 * headDimBlocks : 17 * headDimBlocks + typeIndex;
    AttentionShape shape = new AttentionShape(queryHeads, kvHeads, headDim);
    long perPair = (long) queryHeads * headDim;
    int nk = (int) Math.max(1, Math.min(numKeys, 1_500_000 / perPair));
    int nq = (int) Math.max(1, Math.min(numQueries, 3_000_000 / (perPair * nk)));
    Random random = new Random(seed);
    AttentionOptions options = options(optionBits, queryHeads, random, nk);
    float[] q = values(random, nq * shape.queryStride());
    try (PagedKvCache cache = PagedKvCache.builder(kvHeads, headDim).type(type)
        .blockTokens(blockTokens).capacityTokens(nk).build()) {
      KvSequence seq = cache.newSequence();
      cache.append(seq, nk, values(random, nk * shape.kvStride()), 0,
          values(random, nk * shape.kvStride()), 0);
      assertAgrees(shape, options, nq, q, seq, threads,
          type + " " + shape + " " + options + " nq=" + nq + " nk=" + nk + " block=" + blockTokens);
    }
  }

  /**
   * bf16 and q8_0 rows read in place (few rows per KV head: MHA and small groups), over head dims
   * of whole vector chunks and with tails, for decode and for prefill, against the float64 oracle
   * on dequantised values and against the scalar kernel.
   */
  @Test
  void bf16AndQ8ReadInPlaceAgreeForWholeChunksAndTails() {
    Random random = new Random(7);
    for (KvType type : new KvType[] {KvType.BF16, KvType.Q8_0}) {
      int[] dims = type == KvType.Q8_0 ? new int[] {32, 64, 96, 128, 160} : new int[] {1, 15, 31, 32, 33, 64, 100, 128, 130};
      for (int headDim : dims) {
        for (int group : new int[] {1, 2, 4, 8}) {
          for (int nq : new int[] {1, 3}) {
            AttentionShape shape = new AttentionShape(8, 8 / group, headDim);
            int nk = 150;
            AttentionOptions options = AttentionOptions.defaults().withCausal(true);
            float[] q = values(random, nq * shape.queryStride());
            try (PagedKvCache cache = PagedKvCache.builder(shape.kvHeads(), headDim).type(type)
                .blockTokens(16).capacityTokens(nk).build()) {
              KvSequence seq = cache.newSequence();
              cache.append(seq, nk, values(random, nk * shape.kvStride()), 0,
                  values(random, nk * shape.kvStride()), 0);
              assertAgrees(shape, options, nq, q, seq, 2, type + " " + shape + " nq=" + nq);
            }
          }
        }
      }
    }
  }

  /**
   * At head dims of 4, 8 and 16 vectors one-row scoring holds the query row (or, for q8_0 at 16,
   * each half in turn) in registers and walks a step's keys in one loop: every type, MHA and
   * groups of three (rows the four-row loops leave to it), key counts off the loops' steps and
   * windows that start inside a tile, for decode and prefill, against the oracle and the scalar
   * kernel.
   */
  @Test
  void oneRowScoresWithTheQueryRowInRegistersAgree() {
    Random random = new Random(11);
    AttentionKernel simd = AttentionKernels.simd(1);
    for (int vectors : new int[] {4, 8, 16}) {
      int headDim = vectors * VectorConstants.LANES;
      for (KvType type : KvType.values()) {
        if (type != KvType.Q8_0 || headDim % KvType.Q8_0_BLOCK == 0) {
          // Blocks of 64 tokens hold several of decode's key steps, so steps start inside a
          // block: 12 KV heads walk 42 tokens a step, 4 KV heads (groups of three) 32 or 64.
          assertOneRowScoresAgree(simd, type, headDim, 16, random);
          assertOneRowScoresAgree(simd, type, headDim, 64, random);
        }
      }
    }
  }

  private static void assertOneRowScoresAgree(AttentionKernel simd, KvType type, int headDim,
      int blockTokens, Random random) {
    for (int group : new int[] {1, 3}) {
      AttentionShape shape = new AttentionShape(12, 12 / group, headDim);
      for (int nk : new int[] {1, 5, 67, 130}) {
        for (AttentionOptions options : new AttentionOptions[] {AttentionOptions.defaults(),
            AttentionOptions.defaults().withSlidingWindow(37)}) {
          String context = type + " " + shape + " " + options + " nk=" + nk + " block="
              + blockTokens;
          float[] q = values(random, shape.queryStride());
          try (PagedKvCache cache = PagedKvCache.builder(shape.kvHeads(), headDim).type(type)
              .blockTokens(blockTokens).capacityTokens(nk).build()) {
            KvSequence seq = cache.newSequence();
            cache.append(seq, nk, values(random, nk * shape.kvStride()), 0,
                values(random, nk * shape.kvStride()), 0);
            double[] expected = Oracle.attend(shape, options, 1, nk, q, dequantised(seq, true),
                dequantised(seq, false));
            float[] out = new float[q.length];
            simd.decode(shape, options, q, 0, seq, out, 0);
            double tol = tolerance(headDim, nk, options);
            for (int i = 0; i < out.length; i++) {
              assertClose(expected[i], out[i], tol, "decode vs oracle", i, context);
            }
            assertAgrees(shape, options, 1, q, seq, 1, context);
          }
        }
      }
    }
  }

  /**
   * Decode with several KV heads per task and groups of three to eight (q8_0 keys of groups of
   * four or more are then scored pair of keys by pair of keys across the heads, four rows at a
   * time and a group of seven's last three together; groups of five and six leave one or two
   * rows per head to the one-row loops; three rows left share one pass over the values): odd
   * key counts, so a step ends on a lone key, blocks of 7, 16 and 64 tokens, windows that start
   * inside a step, one query and two, against the oracle and the scalar kernel.
   */
  @Test
  void groupsOfThreeOrMoreAcrossSeveralKvHeadsAgree() {
    Random random = new Random(13);
    AttentionKernel simd = AttentionKernels.simd(1);
    for (KvType type : KvType.values()) {
      for (int headDim : new int[] {64, 128}) {
        for (int kvHeads : new int[] {2, 3}) {
          for (int group : new int[] {3, 4, 5, 6, 7, 8}) {
            AttentionShape shape = new AttentionShape(kvHeads * group, kvHeads, headDim);
            for (int blockTokens : new int[] {7, 16, 64}) {
              for (int nk : new int[] {1, 3, 69, 131}) {
                for (AttentionOptions options : new AttentionOptions[] {
                    AttentionOptions.defaults(), AttentionOptions.defaults().withSlidingWindow(37)}) {
                  assertGroupDecodeAgrees(simd, type, shape, options, blockTokens, nk, random);
                }
              }
            }
          }
        }
      }
    }
  }

  /**
   * Decode at the head dims where f32 and bf16 score a KV head's rows one at a time and bf16 sums
   * their values one row at a time (up to {@link AttentionBody#ROW_BY_ROW_MAX} rows per head, then
   * four rows at a time again): two and eight KV heads (steps of 64 and 16 tokens), groups of
   * four, six, eight, sixteen and seventeen, one query and two, at this run's vector width.
   */
  @Test
  void rowByRowDecodeAgreesUpToItsLimitAndPast() {
    assertTrue(AttentionBody.rowByRow(AttentionBody.ROW_BY_ROW_MAX, AttentionBody.RESIDENT_DIM));
    assertFalse(AttentionBody.rowByRow(AttentionBody.ROW_BY_ROW_MAX + 1, AttentionBody.RESIDENT_DIM));
    Random random = new Random(17);
    AttentionKernel simd = AttentionKernels.simd(1);
    for (KvType type : new KvType[] {KvType.F32, KvType.BF16}) {
      for (int vectors : new int[] {4, 8}) {
        int headDim = vectors * VectorConstants.LANES;
        for (int kvHeads : new int[] {2, 8}) {
          for (int group : new int[] {4, 6, 8, 16, 17}) {
            AttentionShape shape = new AttentionShape(kvHeads * group, kvHeads, headDim);
            for (int blockTokens : new int[] {16, 64}) {
              for (int nk : new int[] {3, 69, 131}) {
                for (AttentionOptions options : new AttentionOptions[] {AttentionOptions.defaults(),
                    AttentionOptions.defaults().withSlidingWindow(37)}) {
                  assertGroupDecodeAgrees(simd, type, shape, options, blockTokens, nk, random);
                }
              }
            }
          }
        }
      }
    }
  }

  private static void assertGroupDecodeAgrees(AttentionKernel simd, KvType type,
      AttentionShape shape, AttentionOptions options, int blockTokens, int nk, Random random) {
    String context = type + " " + shape + " " + options + " nk=" + nk + " block=" + blockTokens;
    try (PagedKvCache cache = PagedKvCache.builder(shape.kvHeads(), shape.headDim()).type(type)
        .blockTokens(blockTokens).capacityTokens(nk).build()) {
      KvSequence seq = cache.newSequence();
      cache.append(seq, nk, values(random, nk * shape.kvStride()), 0,
          values(random, nk * shape.kvStride()), 0);
      float[] q = values(random, shape.queryStride());
      double[] expected = Oracle.attend(shape, options, 1, nk, q, dequantised(seq, true),
          dequantised(seq, false));
      float[] out = new float[q.length];
      simd.decode(shape, options, q, 0, seq, out, 0);
      double tol = tolerance(shape.headDim(), nk, options);
      for (int i = 0; i < out.length; i++) {
        assertClose(expected[i], out[i], tol, "decode vs oracle", i, context);
      }
      assertAgrees(shape, options, 1, q, seq, 1, context);
      if (nk > 1) {
        float[] q2 = values(random, 2 * shape.queryStride());
        assertAgrees(shape, options, 2, q2, seq, 2, context + " nq=2");
      }
    }
  }

  @Property(tries = 25)
  void batchedDecodeEqualsOneSequenceAtATime(@ForAll @IntRange(min = 1, max = 9) int sequences,
      @ForAll @IntRange(min = 0, max = 3) int typeIndex, @ForAll @IntRange(min = 1, max = 4) int threads,
      @ForAll long seed) {
    KvType type = KvType.values()[typeIndex];
    AttentionShape shape = AttentionShape.gqa(16, 2, 64);
    Random random = new Random(seed);
    AttentionKernel simd = AttentionKernels.simd(threads);
    try (PagedKvCache cache = PagedKvCache.builder(2, 64).type(type).capacityBlocks(9 * 200).build()) {
      KvView[] views = new KvView[sequences];
      for (int s = 0; s < sequences; s++) {
        KvSequence seq = cache.newSequence();
        int n = random.nextInt(3000);
        cache.append(seq, n, values(random, n * 128), 0, values(random, n * 128), 0);
        views[s] = seq;
      }
      AttentionOptions options = AttentionOptions.defaults();
      float[] q = values(random, sequences * shape.queryStride());
      float[] batch = new float[q.length];
      simd.decodeBatch(shape, options, MemorySegment.ofArray(q), views, MemorySegment.ofArray(batch));
      float[] qAt = new float[q.length + 11];
      System.arraycopy(q, 0, qAt, 11, q.length);
      float[] batchAt = new float[q.length + 6];
      simd.decodeBatch(shape, options, qAt, 11, views, batchAt, 4);
      for (int i = 0; i < batch.length; i++) {
        assertClose(batch[i], batchAt[4 + i], tolerance(64, 3000, options), "arrays vs segments", i,
            type + " batch");
      }
      assertEquals(0f, batchAt[3], "nothing written before the offset");
      assertEquals(0f, batchAt[4 + q.length], "nothing written past the rows");
      for (int s = 0; s < sequences; s++) {
        float[] one = new float[shape.queryStride()];
        simd.decode(shape, options, q, s * shape.queryStride(), views[s], one, 0);
        // A batch may split a sequence's keys differently from a lone call (split-KV order), so
        // the two agree within the kernel's tolerance rather than bit for bit.
        double tol = tolerance(64, views[s].length(), options);
        float[] row = Arrays.copyOfRange(batch, s * shape.queryStride(), (s + 1) * shape.queryStride());
        for (int i = 0; i < one.length; i++) {
          assertClose(one[i], row[i], tol, "batch vs single", i, type + " seq " + s);
        }
      }
    }
  }

  /**
   * The SIMD kernel's prefill of {@code nq} queries over {@code seq} agrees with the float64
   * oracle on the dequantised cache and with the scalar kernel.
   */
  private static void assertAgrees(AttentionShape shape, AttentionOptions options, int nq, float[] q,
      KvSequence seq, int threads, String context) {
    double[] expected = Oracle.attend(shape, options, nq, seq.length(), q, dequantised(seq, true),
        dequantised(seq, false));
    float[] simd = new float[q.length];
    float[] scalar = new float[q.length];
    AttentionKernels.simd(threads).prefill(shape, options, nq, MemorySegment.ofArray(q), seq,
        MemorySegment.ofArray(simd));
    AttentionKernels.scalar().prefill(shape, options, nq, MemorySegment.ofArray(q), seq,
        MemorySegment.ofArray(scalar));
    // The array overload, queries and outputs inside larger arrays at offsets.
    float[] qAt = new float[q.length + 9];
    System.arraycopy(q, 0, qAt, 5, q.length);
    float[] simdAt = new float[q.length + 7];
    AttentionKernels.simd(threads).prefill(shape, options, nq, qAt, 5, seq, simdAt, 3);
    double tol = tolerance(shape.headDim(), seq.length(), options);
    for (int i = 0; i < simd.length; i++) {
      assertClose(expected[i], simd[i], tol, "simd vs oracle", i, context);
      assertClose(scalar[i], simd[i], tol, "simd vs scalar", i, context);
      assertClose(simd[i], simdAt[3 + i], tol, "arrays at offsets vs segments", i, context);
    }
    assertEquals(0f, simdAt[2], "nothing written before the offset");
    assertEquals(0f, simdAt[3 + q.length], "nothing written past the rows");
  }

  static float[] dequantised(KvSequence seq, boolean keys) {
    return KvContents.dequantised(seq, keys);
  }
}
