package io.mqa4j.bench.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The legend under compare's table says how far its roofline reading can be trusted, and the
 * table tells apart rows that differ only in head dim.
 */
class CompareTablesTest {

  @Test
  void twoThreadsThatReachedOneThreadsFmaAreFlagged() {
    // The figures of a compare whose second vCPU was taken while its roofline was read.
    List<String> legend = CompareTables.legend(new RooflineFigures(24.3, 116, 18.8, 112, 2, 512));
    String last = legend.get(legend.size() - 1);
    assertTrue(last.startsWith("note: 2 threads reached under 1.25 times one thread's FMA (116 "
        + "against 112 GFLOP/s)"), last);
  }

  @Test
  void aReadingThatScaledWithItsThreadsOrOneThreadIsNotFlagged() {
    List<String> scaled = CompareTables.legend(new RooflineFigures(29.9, 219, 23.4, 116, 2, 512));
    assertEquals(3, scaled.size(), String.join("\n", scaled));
    assertFalse(String.join("\n", scaled).contains("note:"));
    List<String> one = CompareTables.legend(new RooflineFigures(19.2, 116, 19.2, 116, 1, 512));
    assertTrue(one.get(2).endsWith("19.2 GB/s read, 116 GFLOP/s FMA with 1 thread."), one.get(2));
    assertEquals(3, one.size());
  }

  @Test
  void noRooflineIsSaidOnceWithoutClaimingOneWasMeasured() {
    List<String> none = CompareTables.legend(null);
    assertEquals("no roofline was measured, so the roofline column shows -.", none.get(2));
  }

  @Test
  void rowsOfSeveralHeadDimsNameTheirHeadDim() {
    Row d64 = row(64);
    Row d128 = row(128);
    String both = CompareTables.table(List.of(d64, d128)).toText();
    assertTrue(both.contains("mqa 32/1 d64") && both.contains("mqa 32/1 d128"), both);
    String one = CompareTables.table(List.of(d128)).toText();
    assertFalse(one.contains(" d128"), one);
    assertTrue(one.contains("mqa 32/1"), one);
  }

  private static Row row(int headDim) {
    return new Row("decode", "mqa", 32, 1, headDim, 1024, "simd", "f32", 2, 300, 300, 300, 9,
        3333, 8L * headDim, 8L << 20, 1L << 30, 1, 1, null, null);
  }
}
