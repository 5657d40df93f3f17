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

  /** Decode latency against context, log-log, one line per layout, kernel and type. */
  public static XYChart decodeLatency(List<Row> rows) {
    XYChart chart = base("Decode latency per step", "context (cached tokens)", "latency per step (ms)");
    Map<String, List<Row>> series = new LinkedHashMap<>();
    for (Row r : CompareTables.ordered(rows)) {
      if (r.phase().equals("decode")) {
        series.computeIfAbsent(r.layout() + " " + r.queryHeads() + "/" + r.kvHeads() + " " + r.kernel()
            + " " + r.dtype(), k -> new ArrayList<>()).add(r);
      }
    }
    series.forEach((name, points) -> {
      double[] x = points.stream().mapToDouble(Row::context).toArray();
      double[] y = points.stream().mapToDouble(r -> r.microsPerStep() / 1000).toArray();
      XYSeries s = chart.addSeries(name, x, y);
      Row first = points.get(0);
      // Colour says the layout, the marker the element type (lighter for narrower types), a
      // dashed line the scalar kernel.
      Color color = LAYOUT_COLORS.getOrDefault(first.layout(), Color.DARK_GRAY);
      if (!first.dtype().equals("f32")) {
        color = color.brighter();
      }
      s.setLineColor(color);
      s.setMarkerColor(color);
      s.setMarker(switch (first.dtype()) {
        case "bf16" -> SeriesMarkers.DIAMOND;
        case "f16" -> SeriesMarkers.TRIANGLE_UP;
        case "q8_0" -> SeriesMarkers.SQUARE;
        default -> SeriesMarkers.CIRCLE;
      });
      if (first.kernel().equals("scalar")) {
        s.setLineStyle(new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f,
            new float[] {6f, 4f}, 0f));
      }
    });
    chart.getStyler().setXAxisLogarithmic(true).setYAxisLogarithmic(true);
    return chart;
  }

  /**
   * KV bytes one sequence holds against its length, one line per layout and type, straight from
   * the bytes per token the rows report.
   */
  public static XYChart kvMemory(List<Row> rows, List<Integer> contexts) {
    XYChart chart = base("KV cache per sequence (one layer)", "context (tokens)", "KV bytes (MiB)");
    Map<String, Long> perToken = new LinkedHashMap<>();
    for (Row r : CompareTables.ordered(rows)) {
      perToken.putIfAbsent(r.layout() + " " + r.queryHeads() + "/" + r.kvHeads() + " " + r.dtype(),
          r.kvBytesPerToken());
    }
    double[] x = contexts.stream().mapToDouble(Integer::doubleValue).toArray();
    perToken.forEach((name, bytes) -> {
      double[] y = contexts.stream().mapToDouble(c -> (double) c * bytes / (1 << 20)).toArray();
      XYSeries s = chart.addSeries(name, x, y);
      s.setLineColor(LAYOUT_COLORS.getOrDefault(name.substring(0, 3), Color.DARK_GRAY));
      s.setMarkerColor(s.getLineColor());
      s.setMarker(SeriesMarkers.CIRCLE);
    });
    chart.getStyler().setXAxisLogarithmic(true).setYAxisLogarithmic(true);
    return chart;
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
