package io.mqa4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class AttentionOptionsTest {

  @Test
  void defaultsAreOrdinaryAttention() {
    AttentionOptions o = AttentionOptions.defaults();
    assertFalse(o.causal());
    assertEquals(0, o.slidingWindow());
    assertEquals(0f, o.softCap());
    assertFalse(o.alibi());
    assertFalse(o.hasSinks());
    assertEquals(Float.NEGATIVE_INFINITY, o.sink(3));
    assertEquals((float) (1 / Math.sqrt(128)), o.scaleFor(128));
    assertEquals(0f, o.alibiSlope(0, 8));
  }

  @Test
  void negativeZeroSinksAndSlopesEqualZero() {
    AttentionOptions d = AttentionOptions.defaults();
    assertEquals(d.withSinks(0f, 0f), d.withSinks(0f, -0f));
    assertEquals(d.withSinks(0f, 0f).hashCode(), d.withSinks(0f, -0f).hashCode());
    assertEquals(d.withAlibiSlopes(0f, 0.5f), d.withAlibiSlopes(-0f, 0.5f));
  }

  @Test
  void lookupsOutsideTheHeadsNameTheirArgument() {
    AttentionOptions d = AttentionOptions.defaults();
    assertIndexMessage(() -> d.withSinks(1f).sink(3),
        "queryHead must be in [0, 1) (1 sinks given), got 3");
    assertIndexMessage(() -> d.withAlibiSlopes(0.5f, 0.25f).alibiSlope(-1, 2),
        "queryHead must be in [0, 2) (2 slopes given), got -1");
    assertIndexMessage(() -> d.withAlibi().alibiSlope(4, 4), "queryHead must be in [0, 4) (4 query heads), got 4");
    assertMessage(() -> d.withAlibi().alibiSlope(0, 0), "queryHeads must be >= 1, got 0");
    assertMessage(() -> d.scaleFor(0), "headDim must be >= 1, got 0");
    assertEquals(0f, d.alibiSlope(7, 1), "no ALiBi: every head's slope is 0");
  }

  @Test
  void withMethodsReturnNewOptionsAndLeaveTheOriginal() {
    AttentionOptions base = AttentionOptions.defaults();
    AttentionOptions causal = base.withCausal(true);
    assertTrue(causal.causal());
    assertFalse(base.causal());
    assertEquals(0.5f, base.withScale(0.5f).scaleFor(64));
    assertEquals(0.125f, base.withScale(0.5f).withDefaultScale().scaleFor(64));
    assertTrue(base.withSlidingWindow(4).causal(), "a window implies causal");
    assertEquals(base.withSlidingWindow(4), causal.withSlidingWindow(4), "they mask alike");
    assertEquals(base.withSlidingWindow(4).hashCode(), causal.withSlidingWindow(4).hashCode());
    assertNotEquals(base.withSlidingWindow(4).withSlidingWindow(0),
        causal.withSlidingWindow(4).withSlidingWindow(0), "without the window, only one is causal");
    assertEquals(30f, base.withSoftCap(30f).softCap());
    assertEquals(base, base.withSoftCap(-0f), "a soft-cap of -0 is off, as 0 is");
    assertEquals(base.hashCode(), base.withSoftCap(-0f).hashCode());
    assertNotEquals(base, causal);
    assertEquals(causal, AttentionOptions.defaults().withCausal(true));
    assertEquals(causal.hashCode(), AttentionOptions.defaults().withCausal(true).hashCode());
    float[] sinks = {1f, 2f};
    AttentionOptions withSinks = base.withSinks(sinks);
    sinks[0] = 99f;
    assertEquals(1f, withSinks.sink(0), "sinks are copied, not aliased");
    float[] slopes = {0.5f, 0.25f};
    AttentionOptions withSlopes = base.withAlibiSlopes(slopes);
    slopes[0] = 9f;
    assertEquals(0.5f, withSlopes.alibiSlope(0, 2));
    assertFalse(withSlopes.withoutAlibi().alibi());
  }

  @Test
  void badValuesNameThemselves() {
    AttentionOptions o = AttentionOptions.defaults();
    assertMessage(() -> o.withScale(Float.NaN), "scale must be finite and positive, got NaN");
    assertMessage(() -> o.withScale(-1f), "scale must be finite and positive, got -1.0");
    assertMessage(() -> o.withSlidingWindow(-3), "slidingWindow must be >= 0 (0 = off), got -3");
    assertMessage(() -> o.withSoftCap(Float.POSITIVE_INFINITY), "softCap must be finite");
    assertMessage(() -> o.withAlibiSlopes(1f, Float.NaN), "alibi slope 1 must be finite, got NaN");
    assertMessage(() -> o.withSinks(Float.POSITIVE_INFINITY), "sink 0 must be a number below +inf");
    AttentionShape shape = AttentionShape.mha(4, 8);
    assertMessage(() -> o.withSinks(1f, 2f).checkAgainst(shape), "sinks have 2 entries but the shape has queryHeads=4");
    assertMessage(() -> o.withAlibiSlopes(1f).checkAgainst(shape), "alibi slopes have 1 entry but the shape has queryHeads=4");
    assertMessage(() -> AttentionOptions.standardAlibiSlopes(0), "heads must be positive, got 0");
  }

  private static void assertIndexMessage(Runnable r, String message) {
    IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, r::run);
    assertEquals(message, e.getMessage());
  }

  private static void assertMessage(Runnable r, String message) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
    assertTrue(e.getMessage().contains(message), e.getMessage());
  }

  @Test
  void standardAlibiSlopesForAPowerOfTwo() {
    float[] slopes = AttentionOptions.standardAlibiSlopes(8);
    for (int h = 0; h < 8; h++) {
      assertEquals((float) Math.pow(2, -(h + 1)), slopes[h], "head " + h);
    }
    assertEquals(slopes[5], AttentionOptions.defaults().withAlibi().alibiSlope(5, 8));
  }

  @Test
  void standardAlibiSlopesInterleaveForOtherCounts() {
    // 12 heads: the 8 slopes of 8 heads, then slopes 0, 2, 4, 6 of 16 heads: 2^-0.5, 2^-1.5, ...
    float[] slopes = AttentionOptions.standardAlibiSlopes(12);
    for (int h = 0; h < 8; h++) {
      assertEquals((float) Math.pow(2, -(h + 1)), slopes[h], "head " + h);
    }
    for (int i = 0; i < 4; i++) {
      assertEquals((float) Math.pow(2, -0.5 - i), slopes[8 + i], "head " + (8 + i));
    }
    assertEquals((float) Math.pow(2, -8.0 / 1), AttentionOptions.standardAlibiSlopes(1)[0]);
  }

  @Test
  void visibleKeysFollowBottomRightCausalAlignmentAndTheWindow() {
    AttentionOptions none = AttentionOptions.defaults();
    assertEquals(0, none.firstVisibleKey(5));
    assertEquals(10, none.endVisibleKey(5, 10));
    AttentionOptions causal = none.withCausal(true);
    assertEquals(6, causal.endVisibleKey(5, 10), "sees keys 0..5");
    assertEquals(0, causal.endVisibleKey(-3, 10), "a query before every key sees none");
    AttentionOptions window = none.withSlidingWindow(3);
    assertEquals(3, window.firstVisibleKey(5), "sees 3, 4, 5: at most 3 keys, itself included");
    assertEquals(6, window.endVisibleKey(5, 10));
    assertEquals(0, window.firstVisibleKey(1));
  }

  @Test
  void logitShapingAppliesSoftCapThenAlibi() {
    AttentionOptions o = AttentionOptions.defaults().withSoftCap(2f);
    assertEquals((float) (2 * Math.tanh(3.0 / 2)), o.shapeLogit(3f, 0f, 0, 0), 1e-6f);
    assertEquals((float) (2 * Math.tanh(3.0 / 2)) - 0.5f * 4, o.shapeLogit(3f, 0.5f, 1, 5), 1e-6f);
  }
}
