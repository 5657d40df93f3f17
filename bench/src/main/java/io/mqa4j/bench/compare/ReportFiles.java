package io.mqa4j.bench.compare;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
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

  /** JSON as the command line prints and stores it. */
  public static ObjectMapper json() {
    return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  }

  /** Fails early, before any measuring, when {@code dir} cannot become a report directory. */
  public static void checkWritable(Path dir) {
    Path absolute = dir.toAbsolutePath();
    if (Files.exists(absolute) && !Files.isDirectory(absolute)) {
      throw new IllegalArgumentException("--out " + dir + " exists and is not a directory");
    }
    Path existing = absolute;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing == null || !Files.isWritable(existing)) {
      throw new IllegalArgumentException("--out " + dir + ": " + existing + " is not writable");
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
    commit(dir, files);
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

  /**
   * Makes the report files of {@code dir} exactly {@code files}: stages each as a temporary file
   * beside its target, keeps a copy of each file it replaces or removes, then moves the new ones
   * in. On any failure it puts the old files back and removes the directories it created.
   */
  static void commit(Path dir, Map<String, byte[]> files) throws IOException {
    Path target = dir.toAbsolutePath();
    Path firstCreated = null;
    for (Path p = target; p != null && !Files.exists(p); p = p.getParent()) {
      firstCreated = p;
    }
    String tag = "." + ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime());
    Map<String, Path> staged = new LinkedHashMap<>();
    Map<String, Path> backups = new LinkedHashMap<>();
    List<String> placed = new ArrayList<>();
    try {
      Files.createDirectories(target);
      for (Map.Entry<String, byte[]> e : files.entrySet()) {
        // Not Files.createTempFile: its owner-only permissions would carry over to the target.
        Path temp = target.resolve("." + e.getKey() + tag + ".tmp");
        staged.put(e.getKey(), temp);
        Files.write(temp, e.getValue(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      }
      for (String name : NAMES) {
        Path file = target.resolve(name);
        Path temp = staged.get(name);
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
          Path backup = target.resolve("." + name + tag + ".old");
          if (temp == null) {
            move(file, backup); // this report has no such file: the old one goes
          } else {
            Files.copy(file, backup, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
          }
          backups.put(name, backup);
        }
        if (temp != null) {
          move(temp, file);
          placed.add(name);
        }
      }
    } catch (IOException | RuntimeException | Error failure) {
      List<IOException> undo = new ArrayList<>();
      backups.forEach((name, backup) -> {
        Path file = target.resolve(name);
        if (placed.contains(name) || !staged.containsKey(name)) {
          quietly(undo, () -> move(backup, file)); // replaced or moved away: put it back
        } else {
          quietly(undo, () -> Files.deleteIfExists(backup)); // never replaced
        }
      });
      for (String name : placed) {
        if (!backups.containsKey(name)) {
          quietly(undo, () -> Files.deleteIfExists(target.resolve(name)));
        }
      }
      staged.values().forEach(temp -> quietly(undo, () -> Files.deleteIfExists(temp)));
      for (Path p = target; firstCreated != null && p != null && p.startsWith(firstCreated); p = p.getParent()) {
        Path created = p;
        if (!quietly(undo, () -> Files.deleteIfExists(created))) {
          break;
        }
      }
      undo.forEach(failure::addSuppressed);
      throw failure;
    }
    List<IOException> ignored = new ArrayList<>();
    backups.values().forEach(backup -> quietly(ignored, () -> Files.deleteIfExists(backup)));
  }

  private interface IoAction {
    void run() throws IOException;
  }

  /** Runs {@code action}, noting a failure instead of throwing it; whether it succeeded. */
  private static boolean quietly(List<IOException> failures, IoAction action) {
    try {
      action.run();
      return true;
    } catch (DirectoryNotEmptyException e) {
      return false;
    } catch (IOException e) {
      failures.add(e);
      return false;
    }
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  static String markdown(CompareReport report, String command) {
    StringBuilder s = new StringBuilder("# mqa4j compare\n\n");
    s.append("Command: `").append(command).append("`  \n");
    s.append("Run: ").append(report.createdAt()).append("  \n");
    if (report.machine() != null) {
      s.append("Machine: ").append(report.machine().summary()).append("\n\n");
    }
    RooflineFigures r = report.roofline();
    if (r != null) {
      s.append(String.format(Locale.ROOT, "Roofline (measured in this run): memory read %.1f GB/s "
          + "and FP32 FMA %.0f GFLOP/s with %d threads; %.1f GB/s and %.0f GFLOP/s with one; "
          + "%d-bit vectors.%n%n", r.readGBps(), r.fmaGflops(), r.threads(), r.readGBpsOneThread(),
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
