package io.mqa4j.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.bench.npy.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code mqa attend} against outputs NumPy computed in float64 (bench/src/test/python), for every
 * kernel, and every way its input can be wrong.
 */
class AttendCommandTest {

  @TempDir
  Path dir;

  static String fixture(String name) {
    return Path.of("src/test/resources/npy", name).toString();
  }

  @Test
  void aSinkThatIsNotANumberIsNamedWithItsFile() throws IOException {
    Path sinks = dir.resolve("sinks_nan.npy");
    float[] given = Npy.read(Path.of(fixture("sinks.npy"))).data().clone();
    given[1] = Float.NaN;
    Npy.write(sinks, new int[] {given.length}, given);
    Path out = dir.resolve("o.npy");
    CliRun run = CliRun.of("attend", "--q", fixture("q.npy"), "--k", fixture("k.npy"), "--v",
        fixture("v.npy"), "--out", out.toString(), "--sinks", sinks.toString());
    assertEquals(2, run.exitCode(), run.err());
    assertTrue(run.oneErrorLine(), run.err());
    assertEquals("mqa attend: --sinks " + sinks + ": sink 1 must be a number below +inf, got NaN",
        run.err().strip());
    assertFalse(Files.exists(out), "nothing written");
  }

  static Stream<Arguments> numpyCases() {
    List<Arguments> cases = new ArrayList<>();
    for (String kernel : List.of("scalar", "simd", "best")) {
      for (String cache : List.of("none", "f32")) {
        cases.add(Arguments.of(kernel, cache, "o_plain.npy", "k.npy", "v.npy", List.of()));
        cases.add(Arguments.of(kernel, cache, "o_causal.npy", "k.npy", "v.npy", List.of("--causal")));
        cases.add(Arguments.of(kernel, cache, "o_window_softcap_sinks.npy", "k.npy", "v.npy",
            List.of("--window", "7", "--softcap", "1.5", "--sinks", fixture("sinks.npy"))));
        cases.add(Arguments.of(kernel, cache, "o_alibi_scale.npy", "k.npy", "v.npy",
            List.of("--causal", "--alibi", "--scale", "0.3")));
        cases.add(Arguments.of(kernel, cache, "o_causal_k_f16.npy", "k_f16.npy", "v.npy", List.of("--causal")));
        cases.add(Arguments.of(kernel, cache, "o_mqa_causal.npy", "k_mqa.npy", "v_mqa.npy", List.of("--causal")));
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} cache={1} {2}")
  @MethodSource("numpyCases")
  void agreesWithNumPy(String kernel, String cache, String expected, String k, String v,
      List<String> options) throws IOException {
    Path out = dir.resolve("o.npy");
    List<String> args = new ArrayList<>(List.of("attend", "--q", fixture("q.npy"), "--k", fixture(k),
        "--v", fixture(v), "--out", out.toString(), "--kernel", kernel, "--cache", cache));
    args.addAll(options);
    CliRun run = CliRun.of(args.toArray(String[]::new));
    assertEquals(0, run.exitCode(), run.err());
    Npy.Array actual = Npy.read(out);
    Npy.Array reference = Npy.read(Path.of(fixture(expected)));
    assertEquals(reference.shapeText(), actual.shapeText());
    for (int i = 0; i < reference.data().length; i++) {
      // float32 kernels against a float64 reference over 37 keys of 24 elements
      assertEquals(reference.data()[i], actual.data()[i], 2e-5, "element " + i);
    }
  }

  @ParameterizedTest(name = "{0} cache={1}")
  @org.junit.jupiter.params.provider.CsvSource({"scalar, f16, 2e-3", "simd, f16, 2e-3", "scalar, bf16, 2e-2",
      "simd, bf16, 2e-2"})
  void halfPrecisionCachesStayCloseToNumPy(String kernel, String cache, double tolerance) throws IOException {
    Path out = dir.resolve("o.npy");
    CliRun run = CliRun.of("attend", "--q", fixture("q.npy"), "--k", fixture("k.npy"), "--v",
        fixture("v.npy"), "--out", out.toString(), "--kernel", kernel, "--cache", cache, "--causal");
    assertEquals(0, run.exitCode(), run.err());
    float[] actual = Npy.read(out).data();
    float[] reference = Npy.read(Path.of(fixture("o_causal.npy"))).data();
    double worst = 0;
    for (int i = 0; i < reference.length; i++) {
      worst = Math.max(worst, Math.abs(reference[i] - actual[i]));
    }
    // Rounding K and V to 11 (f16) or 8 (bf16) significant bits moves outputs of size ~1 by
    // about that much; far more would mean the cache stores something else.
    assertTrue(worst <= tolerance, "worst difference " + worst);
    assertTrue(worst > 0, "the cache did round the values");
  }

  static Stream<Arguments> badInputs() {
    String q = fixture("q.npy");
    String k = fixture("k.npy");
    String v = fixture("v.npy");
    return Stream.of(
        Arguments.of(List.of("--q", "missing.npy", "--k", k, "--v", v), "--q missing.npy: no such file"),
        Arguments.of(List.of("--q", q, "--k", k, "--v", "gone.npy"), "--v gone.npy: no such file"),
        Arguments.of(List.of("--q", q, "--k", k, "--v", v, "--sinks", "none.npy"), "--sinks none.npy: no such file"),
        Arguments.of(List.of("--q", q, "--k", k, "--v", v, "--kernel", "scalar", "--threads", "2"),
            "--threads 2 has no effect with --kernel scalar"),
        Arguments.of(List.of("--q", q, "--k", k, "--v", v, "--threads", "100000"),
            "--threads must be in [1, 1024], got 100000"),
        Arguments.of(List.of("--q", fixture("bad_magic.npy"), "--k", k, "--v", v), "not a .npy file"),
        Arguments.of(List.of("--q", fixture("int32.npy"), "--k", k, "--v", v), "dtype '<i4'"),
        Arguments.of(List.of("--q", fixture("rank2.npy"), "--k", k, "--v", v), "rank 2"),
        Arguments.of(List.of("--q", q, "--k", fixture("k_3heads.npy"), "--v", fixture("k_3heads.npy")),
            "kvHeads=3"),
        Arguments.of(List.of("--q", q, "--k", k, "--v", fixture("k_mqa.npy")), "same shape"),
        Arguments.of(List.of("--q", q, "--k", fixture("k_d16.npy"), "--v", fixture("k_d16.npy")),
            "head dims disagree"),
        Arguments.of(List.of("--q", q, "--k", k, "--v", v, "--window", "0"), "--window must be >= 1, got 0"),
        Arguments.of(List.of("--q", q, "--k", k, "--v", v, "--softcap", "-1"), "--softcap must be finite and > 0 as a float, got -1 (-1.0)"),
        Arguments.of(List.of("--q", q, "--k", k, "--v", v, "--scale", "NaN"), "--scale must be finite and > 0 as a float, got NaN"),
        Arguments.of(List.of("--q", q, "--k", k, "--v", v, "--scale", "1e-50"),
            "--scale must be finite and > 0 as a float, got 1e-50 (0.0)"),
        Arguments.of(List.of("--q", q, "--k", k, "--v", v, "--sinks", fixture("q.npy")), "--sinks"),
        Arguments.of(List.of("--q", q, "--k", k, "--v", v, "--kernel", "gpu"), "--kernel must be"),
        Arguments.of(List.of("--q", q, "--k", k, "--v", v, "--cache", "f8"),
            "--cache must be none or a KV type (f32, f16, bf16, q8_0), got 'f8'"),
        Arguments.of(List.of("--q", q, "--k", k, "--v", v, "--threads", "0"), "--threads"),
        Arguments.of(List.of("--q", q, "--k", k, "--v", v, "--cache", "q8_0"),
            "--cache q8_0 needs a head dim that is a multiple of 32, got d=24"),
        Arguments.of(List.of("--q", q, "--k", k, "--v", v, "--window", "x"), "--window"),
        Arguments.of(List.of("--q", q, "--k", k), "--v"));
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("badInputs")
  void badInputExitsTwoWithOneLineAndNoOutput(List<String> options, String message) throws IOException {
    Path out = dir.resolve("o.npy");
    List<String> args = new ArrayList<>(List.of("attend", "--out", out.toString()));
    args.addAll(options);
    CliRun run = CliRun.of(args.toArray(String[]::new));
    assertEquals(2, run.exitCode(), run.err());
    assertTrue(run.oneErrorLine(), "one line: " + run.err());
    assertTrue(run.err().contains(message), run.err());
    assertFalse(run.err().contains("Exception"), "no stack trace or exception name: " + run.err());
    assertFalse(Files.exists(out), "no output left behind");
    try (var files = Files.list(dir)) {
      assertEquals(0, files.count(), "no temporary files left behind");
    }
  }

  @Test
  void verboseLogsTheKernelAndTheCallAndQuietLogsNothing() {
    ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger)
        org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    ch.qos.logback.classic.Level before = root.getLevel();
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> events =
        new ch.qos.logback.core.read.ListAppender<>();
    events.start();
    root.addAppender(events);
    root.setLevel(ch.qos.logback.classic.Level.WARN); // the shipped logback.xml's level
    try {
      String[] args = {"attend", "--q", fixture("q.npy"), "--k", fixture("k.npy"), "--v",
          fixture("v.npy"), "--out", dir.resolve("o.npy").toString(), "--kernel", "scalar"};
      assertEquals(0, CliRun.of(args).exitCode());
      assertEquals(List.of(), events.list.stream().map(e -> e.getFormattedMessage()).toList(),
          "quiet without -v");
      String[] verbose = Stream.concat(Stream.of("-v"), Stream.of(args)).toArray(String[]::new);
      assertEquals(0, CliRun.of(verbose).exitCode());
      List<String> logged = events.list.stream().map(e -> e.getFormattedMessage()).toList();
      assertTrue(logged.stream().anyMatch(m -> m.startsWith("kernel: scalar")), logged.toString());
      assertTrue(logged.stream().anyMatch(m -> m.contains("queries over") && m.contains(" ms")),
          logged.toString());
    } finally {
      root.detachAppender(events);
      root.setLevel(before);
    }
  }

  @Test
  void outputOverSomethingThatIsNotAFileIsRefusedAndLeftAlone() throws IOException {
    Path fifo = dir.resolve("pipe");
    Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
    try {
      assertEquals(0, mkfifo.waitFor());
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    CliRun run = CliRun.of("attend", "--q", fixture("q.npy"), "--k", fixture("k.npy"), "--v",
        fixture("v.npy"), "--out", fifo.toString());
    assertEquals(2, run.exitCode(), run.err());
    assertTrue(run.oneErrorLine(), run.err());
    assertTrue(run.err().contains("--out " + fifo + " exists and is not a regular file"), run.err());
    // As an input it would block the read until someone wrote to it.
    run = CliRun.of("attend", "--q", fifo.toString(), "--k", fixture("k.npy"), "--v",
        fixture("v.npy"), "--out", dir.resolve("o.npy").toString());
    assertEquals(2, run.exitCode(), run.err());
    assertTrue(run.err().contains("--q " + fifo + ": not a regular file"), run.err());
    assertTrue(Files.exists(fifo) && !Files.isRegularFile(fifo), "the pipe is still a pipe");
  }

  @Test
  void anEmptyOutOrOneUnderAFileIsNamedForWhatItIs() throws java.io.IOException {
    CliRun empty = CliRun.of("attend", "--q", fixture("q.npy"), "--k", fixture("k.npy"), "--v",
        fixture("v.npy"), "--out", "");
    assertEquals(2, empty.exitCode());
    assertTrue(empty.oneErrorLine() && empty.err().contains("--out must name a file, got ''"),
        empty.err());
    Path file = Files.writeString(dir.resolve("afile"), "x");
    CliRun under = CliRun.of("attend", "--q", fixture("q.npy"), "--k", fixture("k.npy"), "--v",
        fixture("v.npy"), "--out", file.resolve("o.npy").toString());
    assertEquals(2, under.exitCode());
    assertTrue(under.oneErrorLine() && under.err().contains(file + " is not a directory"),
        under.err());
  }

  @Test
  void outputIntoAMissingDirectoryIsBadInput() {
    CliRun run = CliRun.of("attend", "--q", fixture("q.npy"), "--k", fixture("k.npy"), "--v",
        fixture("v.npy"), "--out", dir.resolve("no/such/dir/o.npy").toString());
    assertEquals(2, run.exitCode());
    assertTrue(run.oneErrorLine() && run.err().contains("does not exist"), run.err());
  }

  @Test
  void helpShowsAnExample() {
    CliRun run = CliRun.of("attend", "--help");
    assertEquals(0, run.exitCode());
    assertTrue(run.out().contains("./mqa attend --q q.npy"), run.out());
  }
}
