package io.mqa4j.bench.compare;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.mqa4j.bench.io.AtomicFiles;
import io.mqa4j.core.spi.Checks;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/** Writes a compare report's files: {@code report.md}, {@code results.json} and two charts. */
public final class ReportFiles {
  private ReportFiles() {}

  /** The files a report directory holds. */
  public static final List<String> NAMES =
      List.of("report.md", "results.json", "decode-latency.png", "kv-memory.png");

  /**
   * The first line of a JSON parser's message, without what Jackson says of its own settings,
   * which the user cannot reach: the advice it appends to some messages ("enable
   * JsonReadFeature.X to allow", "not allowed as per DeserializationFeature.X", "not recognized
   * as one since Feature 'X' not enabled") and the note that it hides the source from locations.
   */
  public static String jsonProblem(String message) {
    String first = message == null ? "unreadable" : message.lines().findFirst().orElse("").strip();
    first = first.replaceAll("\\[Source: REDACTED \\([^)]*\\); ([^\\]]*)\\]", "$1");
    for (String advice : ADVICE) {
      int at = first.indexOf(advice);
      if (at >= 0) {
        first = first.substring(0, at);
      }
    }
    // The project's class names and Jackson's words for them are not the user's.
    first = first.replaceAll("Unrecognized field \"([^\"]*)\" \\(class [^)]*\\), not marked as ignorable",
        "unknown field '$1'");
    first = first.replaceAll("Cannot construct instance of `[^`]*`, problem: ", "");
    first = first.replaceAll(" \\(bound as `[^`]*`\\)", "");
    first = first.replace(" (or 'NaN'/'+INF'/'-INF')", " (or NaN, Infinity, -Infinity)");
    return first.strip();
  }

  /** How Jackson's advice about its settings begins. */
  private static final List<String> ADVICE =
      List.of(": enable ", ": not allowed as per ", " (not recognized as one since ");

  /** JSON as the command line prints and stores it. */
  public static ObjectMapper json() {
    return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  }

  /** Fails early, before any measuring, when {@code dir} cannot become a compare report's directory. */
  public static void checkWritable(Path dir) {
    checkWritable(dir, NAMES);
  }

  /**
   * Fails early, before any measuring, when {@code dir} cannot become a directory holding
   * {@code names}: a directory already standing where one of them goes could not be replaced.
   */
  public static void checkWritable(Path dir, List<String> names) {
    Path absolute = dir.toAbsolutePath();
    if (Files.exists(absolute) && !Files.isDirectory(absolute)) {
      throw new IllegalArgumentException("--out " + dir + " exists and is not a directory");
    }
    for (String name : names) {
      if (Files.isDirectory(absolute.resolve(name), LinkOption.NOFOLLOW_LINKS)) { // a link is replaced
        throw new IllegalArgumentException("--out " + dir + ": cannot write " + name
            + ", a directory of that name is there");
      }
    }
    Path existing = absolute;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing == null || !Files.isWritable(existing)) {
      throw new IllegalArgumentException("--out " + dir + ": " + existing + " is not writable");
    }
    if (!Files.isDirectory(existing)) { // a file on the way: the directory cannot be created
      throw new IllegalArgumentException("--out " + dir + ": " + existing + " is not a directory");
    }
    // Permissions do not tell everything (a file system that refuses new directories, such as
    // /proc, passes them): make the directory and a file in it, then take both away again.
    try {
      AtomicFiles.probe(absolute);
    } catch (IOException e) {
      throw new IllegalArgumentException("--out " + dir + ": " + e.getMessage());
    }
  }

  /**
   * Writes every file into {@code dir}, creating it, and returns the names written. Everything is
   * rendered in memory first, then staged beside the old files and swapped in, so a failure at
   * any point (a chart that cannot be drawn, a full disk) leaves {@code dir} as it was: the old
   * report whole, or no directory at all. A decode chart left by an earlier run is removed when
   * this report has no decode rows.
   */
  public static List<String> write(Path dir, CompareReport report, String command) throws IOException {
    Map<String, byte[]> files = render(report, command);
    AtomicFiles.replaceAll(dir, files, NAMES);
    return List.copyOf(files.keySet());
  }

  /** The bytes of each file of {@code report}, in the order of {@link #NAMES}. */
  static Map<String, byte[]> render(CompareReport report, String command) throws IOException {
    List<Row> rows = report.rows();
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("report.md", markdown(report, command).getBytes(StandardCharsets.UTF_8));
    files.put("results.json", json().writeValueAsBytes(report));
    if (rows.stream().anyMatch(r -> r.phase().equals("decode"))) {
      files.put("decode-latency.png", ReportCharts.pngBytes(ReportCharts.decodeLatency(rows)));
    }
    TreeSet<Integer> contexts = new TreeSet<>(List.of(1024, 4096, 16384, 32768, 131072));
    rows.forEach(r -> contexts.add(r.context()));
    files.put("kv-memory.png", ReportCharts.pngBytes(ReportCharts.kvMemory(rows, List.copyOf(contexts))));
    return files;
  }

  static String markdown(CompareReport report, String command) {
    StringBuilder s = new StringBuilder("# mqa4j compare\n\n");
    s.append("Command: `").append(command).append("`  \n");
    s.append("Run: ").append(report.createdAt()).append("  \n");
    if (report.machine() != null) {
      s.append("Machine: ").append(report.machine().summary()).append("\n\n");
    }
    RooflineFigures r = report.roofline();
    if (r != null && r.threads() == 1) { // the one-thread figures would be the same again
      s.append(String.format(Locale.ROOT, "Roofline (measured in this run): memory read %.1f GB/s "
          + "and FP32 FMA %.0f GFLOP/s with 1 thread; %d-bit vectors.%n%n", r.readGBps(),
          r.fmaGflops(), r.speciesBits()));
    } else if (r != null) {
      s.append(String.format(Locale.ROOT, "Roofline (measured in this run): memory read %.1f GB/s "
          + "and FP32 FMA %.0f GFLOP/s with %s; %.1f GB/s and %.0f GFLOP/s with one; "
          + "%d-bit vectors.%n%n", r.readGBps(), r.fmaGflops(), Checks.count(r.threads(), "thread"),
          r.readGBpsOneThread(),
          r.fmaGflopsOneThread(), r.speciesBits()));
    }
    s.append(CompareTables.table(report.rows()).toMarkdown()).append('\n');
    for (String line : CompareTables.legend(r)) {
      s.append("- ").append(line).append('\n');
    }
    for (String note : report.notes()) {
      s.append("- ").append(note).append('\n');
    }
    s.append('\n');
    if (report.rows().stream().anyMatch(x -> x.phase().equals("decode"))) {
      s.append("![decode latency](decode-latency.png)\n\n");
    }
    s.append("![KV memory](kv-memory.png)\n");
    return s.toString();
  }
}
