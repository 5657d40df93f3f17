package io.mqa4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The footprint's arithmetic never wraps: past a long, it says so. */
class KvFootprintTest {

  @Test
  void blocksForTheLongestSequenceDoesNotWrap() {
    KvFootprint f = new KvFootprint(8, 128, KvType.BF16, 16);
    assertEquals(Long.MAX_VALUE / 16 + 1, f.blocksFor(Long.MAX_VALUE));
    assertEquals(0, f.blocksFor(0));
    assertEquals(1, f.blocksFor(16));
    assertEquals(2, f.blocksFor(17));
  }

  @Test
  void byteCountsPastALongAreRefusedNamingTheTokens() {
    KvFootprint f = new KvFootprint(8, 128, KvType.BF16, 16); // 4 KiB per token
    long tokens = Long.MAX_VALUE / 1000;
    for (java.util.function.LongUnaryOperator op : new java.util.function.LongUnaryOperator[] {
        f::allocatedBytes, f::wasteBytes, f::decodeBytesRead}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> op.applyAsLong(tokens));
      assertTrue(e.getMessage().startsWith("tokens=" + tokens + " is more bytes than a long holds"),
          e.getMessage());
    }
    assertEquals(4096L * 1000, f.decodeBytesRead(1000), "ordinary sizes unchanged");
  }

  @Test
  void aBlockPastALongIsRefusedAtConstruction() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new KvFootprint(1 << 30, 1 << 20, KvType.F32, 1 << 20));
    assertTrue(e.getMessage().contains("is more bytes than a long holds"), e.getMessage());
  }

  @Test
  void aBlockWhoseKeysAndValuesTogetherPassALongIsRefused() {
    // K alone fits in a long; K and V together do not: doubling must not wrap to a negative size.
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new KvFootprint(Integer.MAX_VALUE, Integer.MAX_VALUE, KvType.F16, 16));
    assertTrue(e.getMessage().contains("is more bytes than a long holds"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> new KvFootprint(1 << 30, Integer.MAX_VALUE, KvType.F32, 16));
  }
}
