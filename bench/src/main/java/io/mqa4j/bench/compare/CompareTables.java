package io.mqa4j.bench.compare;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/** The compare table, as text for the terminal and as Markdown for {@code report.md}. */
public final class CompareTables {
  private CompareTables() {}

  private static final List<String> LAYOUT_ORDER = List.of("mha", "gqa", "mqa");

  /** Rows ordered as the table shows them: phase, context, layout, kernel, type. */
  public static List<Row> ordered(List<Row> rows) {
    return rows.stream().sorted(Comparator.comparing((Row r) -> r.phase().equals("decode") ? 0 : 1)
        .thenComparingInt(Row::context)
        .thenComparingInt(r -> LAYOUT_ORDER.indexOf(r.layout()))
        .thenComparing(Row::kernel)
        .thenComparing(Row::dtype)).toList();
  }

  public static TextTable table(List<Row> rows) {
    TextTable t = new TextTable("phase", "layout", "kernel", "type", ">context", ">latency/step",
        ">spread", ">tokens/s", ">KV/token", ">KV read/step", ">GB/s", ">GFLOP/s", ">roofline",
        ">vs MHA");
    boolean dims = manyHeadDims(rows);
    for (Row r : ordered(rows)) {
      t.add(r.phase(), layout(r, dims), kernel(r), r.dtype(),
          r.context(), Sizes.micros(r.microsPerStep()), spread(r), Sizes.rate(r.tokensPerSec()),
          Sizes.bytes(r.kvBytesPerToken()), Sizes.bytes(r.kvBytesReadPerStep()),
          Sizes.rate(r.gbPerSec()), Sizes.rate(r.gflopsPerSec()),
          r.rooflineShare() == null ? null : String.format(Locale.ROOT, "%.0f%%", 100 * r.rooflineShare()),
          r.speedupVsMha() == null ? null : String.format(Locale.ROOT, "%.2fx", r.speedupVsMha()));
    }
    return t;
  }

  /**
   * Whether the rows span more than one head dim (a JMH run over several), so that a row's
   * layout must name its head dim to be told apart from its neighbours.
   */
  static boolean manyHeadDims(List<Row> rows) {
    return rows.stream().mapToInt(Row::headDim).distinct().count() > 1;
  }

  /** The layout and its heads ({@code mha 32/32}), with the head dim when {@code dims}. */
  static String layout(Row r, boolean dims) {
    return r.layout() + " " + r.queryHeads() + "/" + r.kvHeads() + (dims ? " d" + r.headDim() : "");
  }

  /** The kernel and, for one that runs on a pool, its threads ({@code simd x2}). */
  static String kernel(Row r) {
    return r.kernel() + (r.kernel().equals("scalar") ? "" : " x" + r.threads());
  }

  /** Half the distance from the 10th to the 90th percentile, relative to the median. */
  static String spread(Row r) {
    return String.format(Locale.ROOT, "±%.0f%%", 50 * (r.microsP90() - r.microsP10()) / r.microsPerStep());
  }

  /** The lines under the table that say how to read it. */
  public static List<String> legend(RooflineFigures roofline) {
    String ceilings = roofline == null ? null
        : roofline.threads() == 1 // the one-thread figures are then the same measure again
            ? String.format(Locale.ROOT, "%.1f GB/s read, %.0f GFLOP/s FMA with 1 thread",
                roofline.readGBps(), roofline.fmaGflops())
            : String.format(Locale.ROOT, "%.1f GB/s read, %.0f GFLOP/s FMA with %d threads; "
                + "%.1f GB/s and %.0f GFLOP/s with one", roofline.readGBps(),
                roofline.fmaGflops(), roofline.threads(), roofline.readGBpsOneThread(),
                roofline.fmaGflopsOneThread());
    List<String> lines = new ArrayList<>(List.of(
        "latency/step is the median; spread is half the 10th-90th percentile range. A decode step is "
            + "one token over `context` cached keys; a prefill step is the whole causal prefill.",
        "KV/token is one layer's K and V bytes per token (all its KV heads); KV read/step counts "
            + "each cached K and V row of that layer once. roofline = the time the machine's limits "
            + "allow (bytes at read bandwidth or flops at FMA peak, whichever binds) over the "
            + "measured time; the scalar kernel is judged against one thread.",
        ceilings == null ? "no roofline was measured, so the roofline column shows -."
            : "roofline measured in this run: " + ceilings + "."));
    if (roofline != null && sharedOneCore(roofline)) {
      lines.add(String.format(Locale.ROOT, "note: %d threads reached under 1.25 times one "
          + "thread's FMA (%.0f against %.0f GFLOP/s): while it was read they shared a core's "
          + "units (another process, hyperthreads of one core, or more threads than cores), so "
          + "shares of the FMA peak may read high.", roofline.threads(), roofline.fmaGflops(),
          roofline.fmaGflopsOneThread()));
    }
    return List.copyOf(lines);
  }

  /**
   * Whether several threads measured an FMA peak within a quarter of one thread's: on separate
   * cores it scales with the threads (this machine: 211-233 against 111-116 GFLOP/s).
   */
  static boolean sharedOneCore(RooflineFigures roofline) {
    return roofline.threads() > 1 && roofline.fmaGflops() < 1.25 * roofline.fmaGflopsOneThread();
  }
}
