package io.mqa4j.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code mqa roofline}'s refusals: sizes and thread counts the machine cannot give. */
class RooflineCommandTest {

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "--buffer-mib|2147483647|--buffer-mib 2147483647: cannot allocate the buffer",
      "--buffer-mib|8|--buffer-mib must be >= 64, got 8",
      "--threads|5000|--threads must be in [1, 1024], got 5000",
      "--threads|0|--threads must be in [1, 1024], got 0",
      "--repeats|0|--repeats must be 1 to 1000, got 0",
      "--repeats|2147483647|--repeats must be 1 to 1000, got 2147483647",
      "--result-file|r.json|--result-file (internal: where a parent compare reads a forked roofline) goes only with --json"})
  void badInputExitsTwoWithOneLineNamingIt(String option, String value, String message) {
    CliRun run = option.equals("--repeats") ? CliRun.of("roofline", option, value)
        : CliRun.of("roofline", "--repeats", "1", option, value);
    assertEquals(2, run.exitCode(), run.out() + run.err());
    assertTrue(run.oneErrorLine(), run.err());
    assertTrue(run.err().contains(message), run.err());
    assertEquals("", run.out());
  }

  @Test
  void oneThreadIsReadOnce() throws Exception {
    CliRun run = CliRun.of("roofline", "--threads", "1", "--buffer-mib", "64", "--repeats", "1");
    assertEquals(0, run.exitCode(), run.err());
    assertTrue(run.out().lines().anyMatch(l -> l.matches("memory read bandwidth +[0-9.]+ GB/s \\(1 thread\\)")),
        run.out());
    assertTrue(run.out().lines().anyMatch(l -> l.matches("FP32 FMA peak +[0-9.]+ GFLOP/s \\(1 thread\\)")),
        run.out());
    CliRun json = CliRun.of("roofline", "--threads", "1", "--buffer-mib", "64", "--repeats", "1", "--json");
    assertEquals(0, json.exitCode(), json.err());
    var figures = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.out());
    assertEquals(figures.get("readGBps").asDouble(), figures.get("readGBpsOneThread").asDouble(),
        "one reading serves both: the ceiling shown is the one shares use");
    assertEquals(figures.get("fmaGflops").asDouble(), figures.get("fmaGflopsOneThread").asDouble());
  }
}
