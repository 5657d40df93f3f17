package io.mqa4j.bench.compare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.knowm.xchart.XYChart;

/** The charts' context axis: log2 of the tokens, labelled in tokens at whole powers of two. */
class ReportChartsTest {

  @Test
  void wholePowersOfTwoAreLabelledInTokensAndNothingElseIs() {
    assertEquals("1,024", ReportCharts.contextTick(10.0));
    assertEquals("16,384", ReportCharts.contextTick(14.0));
    assertEquals("131,072", ReportCharts.contextTick(17.0));
    assertEquals("1", ReportCharts.contextTick(0.0));
    assertEquals("", ReportCharts.contextTick(10.5));
    assertEquals("", ReportCharts.contextTick(-1.0));
    assertEquals("", ReportCharts.contextTick(null));
  }

  @Test
  void seriesCarryLog2OfTheContext() {
    Row r = new Row("decode", "mqa", 32, 1, 128, 4096, "simd", "f32", 2, 300, 300, 300, 9,
        3333, 1024, 8L << 20, 1L << 30, 1, 1, null, null);
    XYChart latency = ReportCharts.decodeLatency(List.of(r));
    assertArrayEquals(new double[] {12}, latency.getSeriesMap().values().iterator().next().getXData(),
        1e-12);
    XYChart memory = ReportCharts.kvMemory(List.of(r), List.of(512, 131072));
    assertArrayEquals(new double[] {9, 17}, memory.getSeriesMap().values().iterator().next().getXData(),
        1e-12);
  }

  @Test
  void theAxisRunsBetweenPowersOfTwoSoSomeTickIsLabelled() throws Exception {
    Row lone = row(3000);
    XYChart between = ReportCharts.decodeLatency(List.of(lone));
    assertEquals(11.0, between.getStyler().getXAxisMin(), 0);
    assertEquals(12.0, between.getStyler().getXAxisMax(), 0);
    XYChart power = ReportCharts.decodeLatency(List.of(row(4096)));
    assertEquals(11.0, power.getStyler().getXAxisMin(), 0);
    assertEquals(13.0, power.getStyler().getXAxisMax(), 0);
    XYChart span = ReportCharts.kvMemory(List.of(lone), List.of(1000, 16384));
    assertEquals(9.0, span.getStyler().getXAxisMin(), 0);
    assertEquals(14.0, span.getStyler().getXAxisMax(), 0);
    assertTrue(ReportCharts.pngBytes(between).length > 0);
  }

  @Test
  void aContextOfOneTokenStartsTheAxisAtOneToken() throws Exception {
    XYChart one = ReportCharts.decodeLatency(List.of(row(1)));
    assertEquals(0.0, one.getStyler().getXAxisMin(), 0);
    assertEquals(1.0, one.getStyler().getXAxisMax(), 0);
    XYChart memory = ReportCharts.kvMemory(List.of(row(1)), List.of(1, 2));
    assertEquals(0.0, memory.getStyler().getXAxisMin(), 0);
    assertEquals(1.0, memory.getStyler().getXAxisMax(), 0);
    assertTrue(ReportCharts.pngBytes(one).length > 0);
  }

  @Test
  void rowsOfOtherThreadsOrHeadDimsDrawLinesOfTheirOwn() {
    List<Row> rows = List.of(row(1024, 64, 2), row(4096, 64, 2), row(1024, 64, 1),
        row(4096, 64, 1), row(1024, 128, 2), row(4096, 128, 2));
    XYChart latency = ReportCharts.decodeLatency(rows);
    assertEquals(java.util.Set.of("mqa 32/1 d64 simd x2 f32", "mqa 32/1 d64 simd x1 f32",
        "mqa 32/1 d128 simd x2 f32"), latency.getSeriesMap().keySet());
    latency.getSeriesMap().values().forEach(s -> assertArrayEquals(new double[] {10, 12},
        s.getXData(), 1e-12));
    XYChart memory = ReportCharts.kvMemory(rows, List.of(1024));
    assertEquals(java.util.Set.of("mqa 32/1 d64 f32", "mqa 32/1 d128 f32"),
        memory.getSeriesMap().keySet());
    // One head dim: the label leaves it out, as compare's rows all share it.
    assertEquals(java.util.Set.of("mqa 32/1 simd x2 f32"),
        ReportCharts.decodeLatency(List.of(row(1024), row(4096))).getSeriesMap().keySet());
  }

  private static Row row(int context, int headDim, int threads) {
    return new Row("decode", "mqa", 32, 1, headDim, context, "simd", "f32", threads, 300, 300, 300,
        9, 3333, 8L * headDim, 8L << 20, 1L << 30, 1, 1, null, null);
  }

  private static Row row(int context) {
    return new Row("decode", "mqa", 32, 1, 128, context, "simd", "f32", 2, 300, 300, 300, 9,
        3333, 1024, 8L << 20, 1L << 30, 1, 1, null, null);
  }
}
