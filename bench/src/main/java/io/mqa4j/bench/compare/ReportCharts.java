package io.mqa4j.bench.compare;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import io.mqa4j.bench.io.AtomicFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The PNG charts of a compare report. */
public final class ReportCharts {
  private ReportCharts() {}

  private static final Map<String, Color> LAYOUT_COLORS = Map.of(
      "mha", new Color(0xC0392B), "gqa", new Color(0x2E86C1), "mqa", new Color(0x27AE60));

  /**
   * Decode latency against context, log-log, one line per layout and heads, head dim (where the
   * rows have several), kernel and threads, and type.
   */
  public static XYChart decodeLatency(List<Row> rows) {
    XYChart chart = base("Decode latency per step", "context (cached tokens)", "latency per step (ms)");
    Map<String, List<Row>> series = new LinkedHashMap<>();
    boolean dims = CompareTables.manyHeadDims(rows);
    for (Row r : CompareTables.ordered(rows)) {
      if (r.phase().equals("decode")) {
        series.computeIfAbsent(CompareTables.layout(r, dims) + " " + CompareTables.kernel(r) + " "
            + r.dtype(), k -> new ArrayList<>()).add(r);
      }
    }
    series.forEach((name, points) -> {
      double[] x = points.stream().mapToDouble(r -> log2(r.context())).toArray();
      double[] y = points.stream().mapToDouble(r -> r.microsPerStep() / 1000).toArray();
      XYSeries s = chart.addSeries(name, x, y);
      Row first = points.get(0);
      style(s, first.layout(), first.dtype());
      if (first.kernel().equals("scalar")) { // dashed
        s.setLineStyle(new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f,
            new float[] {6f, 4f}, 0f));
      }
    });
    contextAxis(chart);
    return chart;
  }

  /**
   * KV bytes one sequence holds against its length, one line per layout and heads, head dim
   * (where the rows have several) and type, straight from the bytes per token the rows report.
   */
  public static XYChart kvMemory(List<Row> rows, List<Integer> contexts) {
    XYChart chart = base("KV cache per sequence (one layer)", "context (tokens)", "KV bytes (MiB)");
    Map<String, Row> firstOfEach = new LinkedHashMap<>();
    boolean dims = CompareTables.manyHeadDims(rows);
    for (Row r : CompareTables.ordered(rows)) {
      firstOfEach.putIfAbsent(CompareTables.layout(r, dims) + " " + r.dtype(), r);
    }
    double[] x = contexts.stream().mapToDouble(ReportCharts::log2).toArray();
    firstOfEach.forEach((name, r) -> {
      double[] y = contexts.stream()
          .mapToDouble(c -> (double) c * r.kvBytesPerToken() / (1 << 20)).toArray();
      style(chart.addSeries(name, x, y), r.layout(), r.dtype());
    });
    contextAxis(chart);
    return chart;
  }

  /** Colour says the layout, lighter for types narrower than f32; the marker says the type. */
  private static void style(XYSeries s, String layout, String dtype) {
    Color color = LAYOUT_COLORS.getOrDefault(layout, Color.DARK_GRAY);
    if (!dtype.equals("f32")) {
      color = color.brighter();
    }
    s.setLineColor(color);
    s.setMarkerColor(color);
    s.setMarker(switch (dtype) {
      case "bf16" -> SeriesMarkers.DIAMOND;
      case "f16" -> SeriesMarkers.TRIANGLE_UP;
      case "q8_0" -> SeriesMarkers.SQUARE;
      default -> SeriesMarkers.CIRCLE;
    });
  }

  private static double log2(double tokens) {
    return Math.log(tokens) / Math.log(2);
  }

  /**
   * Context on a log scale labelled in tokens, latency or bytes on a log scale. XChart's own
   * logarithmic x axis labels decades only (one label, "1000", for 1024 to 16384 tokens, or
   * "1E4"), and a label function on it is placed at linear positions, so the x values are
   * log2 of the context on a linear axis, whose whole-number ticks are labelled 2^x. The axis
   * runs from the power of two at or below the shortest context to the one at or above the
   * longest (one either side of a lone power of two, but never below one token), so a labelled
   * tick is always in view, even when every context lies between two powers of two.
   */
  static void contextAxis(XYChart chart) {
    chart.getStyler().setYAxisLogarithmic(true);
    chart.getStyler().setxAxisTickLabelsFormattingFunction(ReportCharts::contextTick);
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (XYSeries s : chart.getSeriesMap().values()) {
      for (double x : s.getXData()) {
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
    }
    if (lo > hi) {
      return;
    }
    double from = Math.floor(lo + 1e-9);
    double to = Math.ceil(hi - 1e-9);
    if (from == to) {
      if (from > 0) { // no context is shorter than one token (2^0)
        from--;
      }
      to++;
    }
    chart.getStyler().setXAxisMin(from);
    chart.getStyler().setXAxisMax(to);
  }

  /** The label of a tick at log2 {@code x}: the context in tokens where x is whole, else none. */
  static String contextTick(Double x) {
    if (x == null || Math.abs(x - Math.rint(x)) > 1e-9 || x < 0 || x > 62) {
      return "";
    }
    return String.format(java.util.Locale.ROOT, "%,d", 1L << (long) Math.rint(x));
  }

  /** A chart with the house style. */
  public static XYChart base(String title, String x, String y) {
    XYChart chart = new XYChartBuilder().width(1000).height(620).title(title).xAxisTitle(x)
        .yAxisTitle(y).build();
    XYStyler style = chart.getStyler();
    style.setLegendPosition(Styler.LegendPosition.OutsideE);
    style.setChartBackgroundColor(Color.WHITE);
    style.setPlotGridLinesColor(new Color(0xDDDDDD));
    style.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
    style.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    style.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
    style.setMarkerSize(7);
    style.setAntiAlias(true);
    return chart;
  }

  /** {@code chart} drawn as a PNG, in memory. */
  public static byte[] pngBytes(XYChart chart) throws IOException {
    return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
  }

  /** Writes {@code chart} as a PNG at {@code file}, whole or not at all. */
  public static void writePng(XYChart chart, Path file) throws IOException {
    AtomicFiles.write(file, pngBytes(chart));
  }
}
