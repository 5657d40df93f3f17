package io.mqa4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Element types: sizes, names and the error bounds of each conversion. */
class KvTypeTest {

  @Test
  void namesAndSizes() {
    assertEquals(KvType.Q8_0, KvType.parse("Q8_0"));
    assertEquals(KvType.BF16, KvType.parse("bf16"));
    assertEquals("q8_0", KvType.Q8_0.label());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KvType.parse("f8"));
    assertEquals("unknown KV type 'f8', expected one of [f32, f16, bf16, q8_0]", e.getMessage());
    assertEquals(512, KvType.F32.headBytes(128));
    assertEquals(256, KvType.F16.headBytes(128));
    assertEquals(256, KvType.BF16.headBytes(128));
    assertEquals(4 * 34, KvType.Q8_0.headBytes(128));
    IllegalArgumentException q8 = assertThrows(IllegalArgumentException.class, () -> KvType.Q8_0.headBytes(100));
    assertEquals("KV type q8_0 needs a head dim that is a multiple of 32, got headDim=100", q8.getMessage());
    assertThrows(IllegalArgumentException.class, () -> KvType.F16.headBytes(0));
  }

  @Test
  void oneLayerOfThirtyTwoF16HeadsCosts16KiBPerToken() {
    assertEquals(16 * 1024, 2 * 32 * KvType.F16.headBytes(128), "K and V");
    assertEquals(512, 2 * KvType.F16.headBytes(128), "one KV head");
  }

  private static float[] roundTrip(KvType type, float[] x) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(type.headBytes(x.length) + 3);
      type.encode(x, 0, x.length, s, 3); // an odd offset: the layouts are unaligned
      float[] back = new float[x.length];
      type.decode(s, 3, x.length, back, 0);
      return back;
    }
  }

  @Test
  void f32IsExact() {
    float[] x = randomNormals(256, 1, 1e3);
    assertEquals(java.util.Arrays.toString(x), java.util.Arrays.toString(roundTrip(KvType.F32, x)));
  }

  @Test
  void f32StoresTheSameBytesAsAFloatArrayAndAContiguousCache() {
    // One f32 loop reads paged blocks, contiguous caches and segment arguments alike, so all three
    // must hold a float in the same byte order.
    float[] x = randomNormals(128, 3, 1e3);
    try (Arena arena = Arena.ofConfined();
        ContiguousKvCache contiguous = new ContiguousKvCache(1, x.length, 1)) {
      MemorySegment paged = arena.allocate(KvType.F32.headBytes(x.length));
      KvType.F32.encode(x, 0, x.length, paged, 0);
      contiguous.append(x, 0, x, 0);
      byte[] expected = MemorySegment.ofArray(x).toArray(ValueLayout.JAVA_BYTE);
      assertEquals(Arrays.toString(expected), Arrays.toString(paged.toArray(ValueLayout.JAVA_BYTE)));
      byte[] cached = contiguous.keyBlock(0).asSlice(0, paged.byteSize()).toArray(ValueLayout.JAVA_BYTE);
      assertEquals(Arrays.toString(expected), Arrays.toString(cached));
    }
  }

  @Test
  void f16IsWithinHalfAnUlpInTheNormalRange() {
    float[] x = randomNormals(4096, 2, 100);
    float[] back = roundTrip(KvType.F16, x);
    for (int i = 0; i < x.length; i++) {
      if (Math.abs(x[i]) >= 0x1p-14f) { // f16's smallest normal
        assertTrue(Math.abs(back[i] - x[i]) <= Math.abs(x[i]) * 0x1p-11f, x[i] + " -> " + back[i]);
      }
    }
  }

  @Test
  void bf16IsWithinHalfAnUlp() {
    float[] x = randomNormals(4096, 3, 1e20);
    float[] back = roundTrip(KvType.BF16, x);
    for (int i = 0; i < x.length; i++) {
      assertTrue(Math.abs(back[i] - x[i]) <= Math.abs(x[i]) * 0x1p-8f, x[i] + " -> " + back[i]);
    }
  }

  @Test
  void bf16RoundsTiesToEvenAndKeepsSpecials() {
    // 1 + 2^-8 lies halfway between bf16 neighbours 1 and 1 + 2^-7: ties to even gives 1.
    assertEquals(1f, KvType.bf16ToFloat(KvType.floatToBf16(1f + 0x1p-8f)));
    // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: the even one is 1 + 2^-6.
    assertEquals(1f + 0x1p-6f, KvType.bf16ToFloat(KvType.floatToBf16(1f + 3 * 0x1p-8f)));
    assertEquals(1f + 0x1p-7f, KvType.bf16ToFloat(KvType.floatToBf16(1f + 0x1p-8f + 0x1p-20f)), "above the tie");
    assertTrue(Float.isNaN(KvType.bf16ToFloat(KvType.floatToBf16(Float.NaN))));
    assertEquals(Float.POSITIVE_INFINITY, KvType.bf16ToFloat(KvType.floatToBf16(Float.POSITIVE_INFINITY)));
    assertEquals(-0f, KvType.bf16ToFloat(KvType.floatToBf16(-0f)));
  }

  @Test
  void f16RoundsTiesToEven() {
    // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10.
    assertEquals(1f, roundTrip(KvType.F16, new float[] {1f + 0x1p-11f})[0]);
    assertEquals(1f + 0x1p-9f, roundTrip(KvType.F16, new float[] {1f + 3 * 0x1p-11f})[0]);
  }

  @Test
  void q8IsWithinHalfAScaleStep() {
    float[] x = randomNormals(32 * 64, 4, 10);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(KvType.Q8_0.headBytes(x.length));
      KvType.Q8_0.encode(x, 0, x.length, s, 0);
      float[] back = new float[x.length];
      KvType.Q8_0.decode(s, 0, x.length, back, 0);
      for (int b = 0; b < x.length / 32; b++) {
        float d = Float.float16ToFloat(s.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, b * 34L));
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[b * 32 + i]));
        assertEquals(amax / 127f, d, amax / 127f * 0x1p-11f, "the scale is amax / 127 in f16");
        for (int i = 0; i < 32; i++) {
          int at = b * 32 + i;
          assertTrue(Math.abs(back[at] - x[at]) <= 0.5f * d * (1 + 0x1p-20f), x[at] + " -> " + back[at] + ", d=" + d);
        }
      }
    }
  }

  /** Largest amax whose block a 65504 scale still holds within half a step. */
  private static final double Q8_MAX_REPRESENTABLE = 65504.0 * 127.5;

  @Test
  void q8RandomBlocksAtEveryMagnitudeStayWithinHalfAStep() {
    Random random = new Random(5);
    float[][] blocks = new float[20_000][];
    for (int b = 0; b < blocks.length; b++) {
      float amax = (float) Math.pow(2, -40 + 68 * random.nextDouble()); // 2^-40 to 2^28
      blocks[b] = q8Block(random, amax);
    }
    checkQ8Blocks(blocks);
  }

  @Test
  void q8BlocksJustAroundScaleRoundingBoundariesStayWithinHalfAStep() {
    // amax / 127 just below and above the midpoint of two neighbouring halves, so the scale
    // rounds down or up; among subnormals rounding down made the largest value clip.
    Random random = new Random(6);
    java.util.List<float[]> blocks = new java.util.ArrayList<>();
    for (int bits = 0; bits < 0x7bff; bits += bits < 0x0800 ? 1 : 37) {
      double mid = (Float.float16ToFloat((short) bits) + (double) Float.float16ToFloat((short) (bits + 1))) / 2;
      float amax = (float) (127 * mid);
      for (float a : new float[] {Math.nextDown(amax), amax, Math.nextUp(amax)}) {
        blocks.add(q8Block(random, a));
      }
    }
    checkQ8Blocks(blocks.toArray(float[][]::new));
  }

  @Test
  void q8ValuesNearAHalfStepRoundToTheNearerStep() {
    // With amax = 127 * d the scale is d exactly; values a hair either side of (k + 0.5) * d
    // are where rounding x * (1 / d) in float went the wrong way.
    Random random = new Random(7);
    float[][] blocks = new float[5_000][];
    for (int b = 0; b < blocks.length; b++) {
      float d = Float.float16ToFloat((short) (1 + random.nextInt(0x7bff)));
      float[] x = new float[32];
      x[0] = 127 * d;
      for (int i = 1; i < 32; i++) {
        float tie = (random.nextInt(254) - 127 + 0.5f) * d;
        x[i] = random.nextBoolean() ? Math.nextDown(tie) : Math.nextUp(tie);
      }
      blocks[b] = x;
    }
    checkQ8Blocks(blocks);
  }

  @Test
  void q8ExactTiesRoundAwayFromZeroAsGgmlDoes() {
    // amax 127 makes d exactly 1, so k + 0.5 is an exact tie; ggml's roundf takes it away from
    // zero, and an encoding symmetric in sign stores -q for -x.
    float[] x = new float[32];
    x[0] = 127f;
    float[] ties = {0.5f, -0.5f, 2.5f, -2.5f, 126.5f, -126.5f, 3.5f, -3.5f};
    int[] expected = {1, -1, 3, -3, 127, -127, 4, -4};
    System.arraycopy(ties, 0, x, 1, ties.length);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(KvType.Q8_0.headBytes(32));
      KvType.Q8_0.encode(x, 0, 32, s, 0);
      for (int i = 0; i < ties.length; i++) {
        assertEquals(expected[i], s.get(ValueLayout.JAVA_BYTE, 2 + 1 + i), "x=" + ties[i]);
      }
    }
  }

  @Test
  void q8HugeValuesSaturateInsteadOfTurningIntoInfinityOrNaN() {
    float[] amaxes = {1e6f, 65504f * 127, 65504f * 127.25f, 65504f * 127.5f, 65512f * 127,
        65520f * 127, 65536f * 127, 1e7f, 1e20f, Float.MAX_VALUE, Float.POSITIVE_INFINITY};
    Random random = new Random(8);
    float[][] blocks = new float[amaxes.length * 2][];
    for (int i = 0; i < amaxes.length; i++) {
      blocks[2 * i] = q8Block(random, amaxes[i]);
      blocks[2 * i + 1] = q8Block(random, -amaxes[i]);
    }
    checkQ8Blocks(blocks);
  }

  /** 32 values in {@code [-|amax|, |amax|]}, one of them exactly {@code amax}. */
  private static float[] q8Block(Random random, float amax) {
    float[] x = new float[32];
    for (int i = 0; i < 32; i++) {
      x[i] = (float) ((2 * random.nextDouble() - 1) * Math.abs((double) amax));
    }
    x[random.nextInt(32)] = amax;
    return x;
  }

  /**
   * Each block decodes to finite values: within half a step of the input where the block's amax
   * is at most {@code 65504 * 127.5}, else quantised against the largest finite scale, 65504, and
   * saturated at {@code ±127 * 65504}. The scale is never more than one f16 step above
   * {@code amax / 127}.
   */
  private static void checkQ8Blocks(float[][] blocks) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(KvType.Q8_0.headBytes(32));
      float[] back = new float[32];
      for (float[] x : blocks) {
        KvType.Q8_0.encode(x, 0, 32, s, 0);
        KvType.Q8_0.decode(s, 0, 32, back, 0);
        short dBits = s.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 0);
        double d = Float.float16ToFloat(dBits);
        double amax = 0;
        for (float v : x) amax = Math.max(amax, Math.abs(v));
        String block = "amax=" + amax + ", d=" + d;
        assertTrue(Double.isFinite(d), block);
        if (amax <= Q8_MAX_REPRESENTABLE) {
          short rounded = Float.floatToFloat16((float) (amax / 127));
          double bound = rounded >= 0x7bff ? 65504 : Float.float16ToFloat((short) (rounded + 1));
          assertTrue(d <= bound, "scale at most one f16 step above amax / 127: " + block);
        } else {
          assertEquals(65504.0, d, block);
        }
        for (int i = 0; i < 32; i++) {
          assertTrue(Float.isFinite(back[i]), x[i] + " -> " + back[i] + ", " + block);
          if (amax <= Q8_MAX_REPRESENTABLE) {
            assertTrue(Math.abs(back[i] - (double) x[i]) <= 0.5 * d, x[i] + " -> " + back[i] + ", " + block);
          } else {
            float saturated = Math.clamp(Math.round(x[i] / d), -127, 127) * 65504f;
            assertEquals(saturated, back[i], x[i] + " -> " + back[i] + ", " + block);
          }
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(KvType.class)
  void conversionsRefuseArgumentsThatDoNotHoldAWholeHeadAndWriteNothing(KvType type) {
    MemorySegment seg = Arena.ofAuto().allocate(256);
    float[] src = new float[64];
    Arrays.fill(src, 1f);
    float[] dst = new float[64];
    int headDim = 32;
    long headBytes = type.headBytes(headDim);
    assertRefused(() -> type.encode(src, 40, headDim, seg, 0), "srcOffset=40");
    assertRefused(() -> type.encode(src, -1, headDim, seg, 0), "srcOffset=-1");
    assertRefused(() -> type.encode(src, 0, headDim, seg, 256 - headBytes + 1), "dstOffset=");
    assertRefused(() -> type.encode(src, 0, headDim, seg, -4), "dstOffset=-4");
    assertRefused(() -> type.encode(src, 0, -1, seg, 0), "headDim");
    assertRefused(() -> type.encode(src, 0, headDim, seg.asReadOnly(), 0), "read-only");
    for (long b = 0; b < seg.byteSize(); b++) {
      assertEquals(0, seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, b), "byte " + b + " untouched");
    }
    assertRefused(() -> type.decode(seg, 256 - headBytes + 1, headDim, dst, 0), "srcOffset=");
    assertRefused(() -> type.decode(seg, 0, headDim, dst, 33), "dstOffset=33");
    assertRefused(() -> type.element(seg, 0, -1), "i=-1");
    assertRefused(() -> type.element(seg, -2, 0), "headOffset=-2");
    assertRefused(() -> type.element(seg, 256 - headBytes, headDim * 8), "i=" + headDim * 8);
    assertTrue(assertThrows(NullPointerException.class, () -> type.encode(null, 0, headDim, seg, 0))
        .getMessage().contains("src"));
    assertTrue(assertThrows(NullPointerException.class, () -> type.decode(null, 0, headDim, dst, 0))
        .getMessage().contains("src"));
    type.encode(src, 32, headDim, seg, 256 - headBytes); // a whole head at the very end fits
    assertEquals(1f, type.element(seg, 256 - headBytes, headDim - 1), 0.01f);
  }

  @Test
  void q8HeadsThatAreNotWholeBlocksAreRefused() {
    MemorySegment seg = Arena.ofAuto().allocate(256);
    assertRefused(() -> KvType.Q8_0.encode(new float[64], 0, 48, seg, 0), "headDim=48");
    assertRefused(() -> KvType.Q8_0.encode(new float[64], 0, 16, seg, 0), "headDim=16");
    assertRefused(() -> KvType.Q8_0.decode(seg, 0, 48, new float[64], 0), "headDim=48");
  }

  private static void assertRefused(org.junit.jupiter.api.function.Executable call, String named) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().contains(named), e.getMessage());
  }

  @ParameterizedTest
  @EnumSource(KvType.class)
  void exactValuesSurvive(KvType type) {
    float[] x = new float[32];
    float[] exact = {0f, 1f, -1f, 0.5f, -0.25f, 2f};
    for (int i = 0; i < 32; i++) x[i] = exact[i % exact.length];
    if (type == KvType.Q8_0) {
      // Exact for q8_0 means multiples of a scale that f16 holds exactly: amax 63.5 = 127 * 0.5.
      for (int i = 0; i < 32; i++) x[i] = (i - 16) * 0.5f;
      x[31] = 63.5f;
    }
    float[] back = roundTrip(type, x);
    for (int i = 0; i < 32; i++) {
      assertEquals(x[i], back[i], type.label() + " element " + i);
    }
  }

  @Test
  void anAllZeroQ8BlockDecodesToZeros() {
    float[] back = roundTrip(KvType.Q8_0, new float[32]);
    for (float f : back) assertEquals(0f, f);
  }

  private static float[] randomNormals(int n, long seed, double spread) {
    Random random = new Random(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (random.nextGaussian() * Math.pow(spread, random.nextDouble()));
    }
    return x;
  }

  @ParameterizedTest
  @EnumSource(KvType.class)
  void anElementPastTheLargestLongIsRefusedNamingItsOffset(KvType type) {
    MemorySegment src = Arena.ofAuto().allocate(256);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> type.element(src, Long.MAX_VALUE - 1, 0));
    assertTrue(e.getMessage().contains("headOffset=" + (Long.MAX_VALUE - 1)), e.getMessage());
    assertTrue(e.getMessage().contains("past the largest long"), e.getMessage());
  }
}
