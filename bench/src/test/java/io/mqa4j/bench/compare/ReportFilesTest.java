package io.mqa4j.bench.compare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The report directory is replaced whole or not at all. */
class ReportFilesTest {

  @TempDir
  Path dir;

  private static Row row(String layout, int kvHeads, double micros) {
    return new Row("decode", layout, 32, kvHeads, 128, 4096, "simd", "f32", 2, micros, micros,
        micros, 3, 1e6 / micros, 1024L * kvHeads, 4096L * 1024 * kvHeads, 4L * 4096 * 32 * 128,
        1, 1, null, null);
  }

  private static CompareReport report(Row... rows) {
    return new CompareReport("test", "2025-01-01T00:00:00Z", null, null, null,
        CompareRun.complete(List.of(rows), null), List.of());
  }

  private static Map<String, byte[]> snapshot(Path dir) throws IOException {
    Map<String, byte[]> files = new TreeMap<>();
    try (Stream<Path> list = Files.list(dir)) {
      for (Path p : list.toList()) {
        files.put(p.getFileName().toString(), Files.isDirectory(p) ? new byte[0] : Files.readAllBytes(p));
      }
    }
    return files;
  }

  @Test
  void chartThatCannotBeDrawnLeavesTheDirectoryAsItWas() throws IOException {
    Path out = dir.resolve("report");
    ReportFiles.write(out, report(row("mha", 32, 400), row("mqa", 1, 50)), "first");
    Map<String, byte[]> before = snapshot(out);
    assertEquals(List.of("decode-latency.png", "kv-memory.png", "report.md", "results.json"),
        List.copyOf(before.keySet()));
    // Unchecked rows: a time of zero cannot go on the logarithmic latency chart.
    CompareReport bad = report(row("mha", 32, 400), row("mqa", 1, 0));
    assertThrows(IllegalArgumentException.class, () -> ReportFiles.write(out, bad, "second"));
    Map<String, byte[]> after = snapshot(out);
    assertEquals(before.keySet(), after.keySet());
    before.forEach((name, bytes) -> assertArrayEquals(bytes, after.get(name), name));
  }

  @Test
  void fileThatCannotBeReplacedPutsTheOldFilesBack() throws IOException {
    Path out = dir.resolve("report");
    ReportFiles.write(out, report(row("mha", 32, 400), row("mqa", 1, 50)), "first");
    // The last file to be swapped in cannot be: a directory with something in it is in its way.
    Files.delete(out.resolve("kv-memory.png"));
    Files.writeString(Files.createDirectory(out.resolve("kv-memory.png")).resolve("x"), "x");
    Map<String, byte[]> before = snapshot(out);
    assertThrows(IOException.class,
        () -> ReportFiles.write(out, report(row("mha", 32, 800), row("mqa", 1, 90)), "second"));
    Map<String, byte[]> after = snapshot(out);
    assertEquals(before.keySet(), after.keySet(), "no staged or backup files left");
    before.forEach((name, bytes) -> assertArrayEquals(bytes, after.get(name), name));
    assertEquals("x", Files.readString(out.resolve("kv-memory.png/x")));
  }

  @Test
  void failedFirstReportCreatesNoDirectory() {
    Path out = dir.resolve("a/b/report");
    CompareReport bad = report(row("mha", 32, -1));
    assertThrows(IllegalArgumentException.class, () -> ReportFiles.write(out, bad, "x"));
    assertFalse(Files.exists(dir.resolve("a")));
  }

  /**
   * A truncated file, a second value after the first and a comment: Jackson's messages for them
   * name parser settings (StreamReadFeature, DeserializationFeature, ALLOW_COMMENTS) that nobody
   * running mqa can change, as its NaN message did before it was cut.
   */
  @ParameterizedTest
  @ValueSource(strings = {"{\"rows\": [", "{\"rows\": []} []", "// rows\n{\"rows\": []}",
      "{\"rows\": [NaN]}"})
  void jsonProblemsNameNoParserSetting(String text) {
    var mapper = ReportFiles.json().reader()
        .with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    IOException e = assertThrows(IOException.class, () -> mapper.readTree(text));
    String problem = ReportFiles.jsonProblem(e.getMessage());
    assertFalse(problem.isBlank(), e.getMessage());
    for (String setting : List.of("Feature", "ALLOW_", "FAIL_ON", "REDACTED", "enable")) {
      assertFalse(problem.contains(setting), problem);
    }
  }

  @Test
  void aTruncatedFileKeepsWhereItsOpenBracketIs() {
    assertEquals("Unexpected end-of-input: expected close marker for Array (start marker at "
        + "line: 1, column: 10)", ReportFiles.jsonProblem("Unexpected end-of-input: expected close "
        + "marker for Array (start marker at [Source: REDACTED "
        + "(`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 10])\n"
        + " at [Source: REDACTED; line: 1, column: 11]"));
  }
}
