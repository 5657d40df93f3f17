package io.mqa4j.bench.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mqa4j.bench.compare.CompareSettings;
import io.mqa4j.bench.compare.ReportFiles;
import io.mqa4j.bench.compare.StepTimer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code mqa compare} and {@code mqa report}: options, errors, JSON shape, files. */
class CompareCommandTest {

  @TempDir
  Path dir;

  private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G'};

  @Test
  void quickRunEndToEndWritesTableJsonAndCharts() throws IOException {
    Path out = dir.resolve("report");
    CliRun run = CliRun.of("compare", "--quick", "--out", out.toString(), "--json", "--no-progress");
    assertEquals(0, run.exitCode(), run.err());
    JsonNode report = new ObjectMapper().readTree(run.out());
    JsonNode rows = report.get("rows");
    // --quick: 3 layouts x the types x (decode 2 contexts x 2 kernels + prefill 1 context x 2 kernels)
    int types = report.get("settings").get("dtypes").size();
    assertEquals(3 * types * (2 * 2 + 2), rows.size());
    Set<String> seen = new HashSet<>();
    for (JsonNode row : rows) {
      for (String field : List.of("layout", "queryHeads", "kvHeads", "headDim", "context", "kernel",
          "dtype", "threads", "phase", "microsPerStep", "kvBytesReadPerStep", "gbPerSec", "gflopsPerSec")) {
        assertTrue(row.has(field), field + " in " + row);
      }
      assertTrue(row.get("microsPerStep").asDouble() > 0);
      long tokenBytes = row.get("kvHeads").asLong() * 128 * (row.get("dtype").asText().equals("f32") ? 4 : 2);
      assertEquals(2 * tokenBytes, row.get("kvBytesPerToken").asLong());
      assertEquals(2 * tokenBytes * row.get("context").asLong(), row.get("kvBytesReadPerStep").asLong());
      seen.add(row.get("layout").asText() + "/" + row.get("kernel").asText());
      if (row.get("layout").asText().equals("mha")) {
        assertEquals(1.0, row.get("speedupVsMha").asDouble(), 1e-12);
      }
    }
    assertEquals(6, seen.size());
    assertTrue(report.get("roofline").get("readGBps").asDouble() > 0);
    for (String name : List.of("report.md", "results.json", "decode-latency.png", "kv-memory.png")) {
      assertTrue(Files.size(out.resolve(name)) > 1000, name + " written");
    }
    for (String png : List.of("decode-latency.png", "kv-memory.png")) {
      assertArrayEquals(PNG_MAGIC, Arrays.copyOf(Files.readAllBytes(out.resolve(png)), 4), png);
    }
    assertTrue(Files.readString(out.resolve("report.md")).contains("| decode"));

    CliRun again = CliRun.of("report", out.resolve("results.json").toString(), "--no-files");
    assertEquals(0, again.exitCode(), again.err());
    assertTrue(again.out().contains("mqa 32/1") && again.out().contains("vs MHA"), again.out());
  }

  @Test
  void tableFromJmhResults() {
    Path out = dir.resolve("jmh-report");
    CliRun run = CliRun.of("report", "src/test/resources/jmh/decode-sample.json", "--out", out.toString());
    assertEquals(0, run.exitCode(), run.err());
    // MHA 16 ms against MQA 2 ms at 16384 keys: 8x, and MHA reads 2*16384*32*128*4 bytes = 512 MiB.
    assertTrue(run.out().contains("8.00x"), run.out());
    assertTrue(run.out().contains("512 MiB"), run.out());
    // GQA in operations per second: 250 ops/s is 4 ms a step, 4x faster than MHA.
    assertTrue(run.out().contains("4.00 ms") && run.out().contains("4.00x"), run.out());
    assertTrue(Files.exists(out.resolve("decode-latency.png")));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "--phase warmup|--phase must be decode, prefill or both",
      "--contexts 0|--contexts must all be >= 1, got 0",
      "--contexts ,|--contexts must name at least one context, got none",
      "--result-file r.json|--result-file (internal: where a parent compare reads its fork's rows) goes only with --worker-settings",
      "--contexts abc|--contexts",
      "--layouts mha,xqa|--layouts must be among mha, gqa, mqa, got 'xqa'",
      "--kv-heads 5|--kv-heads must divide --query-heads=32, got 5",
      "--kernels cuda|--kernels must be among scalar, simd",
      "--dtypes f8|unknown KV type 'f8'",
      "--dtypes q8_0 --head-dim 100|--dtypes q8_0 needs --head-dim to be a multiple of 32, got 100",
      "--threads 0|--threads must be in [1, 1024], got 0",
      "--threads 100000|--threads must be in [1, 1024], got 100000",
      "--layouts mha,mqa --kv-heads 4|--kv-heads 4 has no effect unless --layouts includes gqa",
      "--kernels scalar --threads 1|--threads 1 has no effect without the simd kernel",
      "--phase decode --max-scalar-prefill 512|--max-scalar-prefill 512 has no effect unless the scalar kernel prefills",
      "--no-files|has no effect with --no-files",
      "--query-heads 100000000|--query-heads 100000000 x --head-dim 128 is more floats per query",
      "--contexts 2147483647 --layouts mqa --phase decode|--contexts 2147483647 needs 2.00 TiB of f32 keys and values for mqa (1 KV heads of 128), more than",
      "--query-heads -1|--query-heads must be >= 1, got -1",
      "--frobnicate|Unknown option: '--frobnicate'",
      "--phase prefill --kernels scalar --max-scalar-prefill 10 --contexts 100|nothing to measure: --kernels scalar prefills prompts of up to --max-scalar-prefill 10 tokens, and every prefill context is longer: [100]",
      "--block-tokens 20000 --contexts 1024|--block-tokens must be at most the longest context measured, 1024, got 20000",
      "--phase prefill --quick --block-tokens 1024|--block-tokens must be at most the longest context measured, 128, got 1024",
      "--phase prefill --layouts mqa --query-heads 1024 --contexts 10000000|and of the prefill's queries and outputs (1024 heads), more than this machine's",
      "--rounds 0|--rounds must be 1 to 25, got 0",
      "--rounds 26|--rounds must be 1 to 25, got 26",
      "--from r.json --rounds 3|--rounds has no effect with --from"})
  void badOptionsExitTwoWithOneLine(String options, String message) {
    String[] args = ("compare --out " + dir.resolve("r") + " " + options).split(" ");
    CliRun run = CliRun.of(args);
    assertEquals(2, run.exitCode(), run.err());
    assertTrue(run.oneErrorLine(), run.err());
    assertTrue(run.err().contains(message), run.err());
    assertFalse(Files.exists(dir.resolve("r")), "nothing written");
  }

  @Test
  void workerSettingsTakeNoOtherOption() {
    CliRun run = CliRun.of("compare", "--quick", "--worker-settings", "{}");
    assertEquals(2, run.exitCode(), run.err());
    assertTrue(run.err().contains("--quick has no effect with --worker-settings"), run.err());
  }

  @ParameterizedTest
  @ValueSource(strings = {"{bad|--worker-settings (internal",
      "{}|phases is missing",
      "LAYOUTS|layouts must be among [mha, gqa, mqa], got 'xqa'",
      "THREADS|threads must be in [1, 1024], got 0",
      "BUDGET|budget must measure for > 0 ns and >= 1 sample"})
  void workerSettingsAParentWouldNeverSendAreRefused(String spec) throws IOException {
    String[] parts = spec.split("\\|");
    ObjectMapper json = ReportFiles.json();
    String valid = json.writeValueAsString(new CompareSettings(List.of("decode"), List.of(64),
        List.of(64), 4, 2, 32, List.of("mqa"), List.of("simd"), List.of("f32"), 1, 0, 16,
        StepTimer.Budget.QUICK));
    ObjectNode changed = (ObjectNode) json.readTree(valid);
    String settings = switch (parts[0]) {
      case "LAYOUTS" -> json.writeValueAsString(changed.set("layouts", json.createArrayNode().add("xqa")));
      case "THREADS" -> json.writeValueAsString(changed.put("threads", 0));
      case "BUDGET" -> json.writeValueAsString(changed.set("budget",
          ((ObjectNode) changed.get("budget")).put("minSamples", 0)));
      default -> parts[0];
    };
    assertNotEquals(valid, settings, "the case changed the settings");
    CliRun run = CliRun.of("compare", "--worker-settings", settings);
    assertEquals(2, run.exitCode(), run.err());
    assertTrue(run.oneErrorLine(), run.err());
    assertTrue(run.err().contains("--worker-settings"), run.err());
    assertTrue(run.err().contains(parts[1]), run.err());
  }

  @Test
  void outThatIsAFileIsRefusedBeforeMeasuring() throws IOException {
    Path file = Files.writeString(dir.resolve("taken"), "x");
    CliRun run = CliRun.of("compare", "--quick", "--out", file.toString());
    assertEquals(2, run.exitCode());
    assertTrue(run.oneErrorLine() && run.err().contains("not a directory"), run.err());
  }

  @Test
  void aDirectoryWhereAReportFileGoesIsRefusedBeforeMeasuring() throws IOException {
    Path out = dir.resolve("report");
    Files.createDirectories(out.resolve("kv-memory.png"));
    CliRun compare = CliRun.of("compare", "--quick", "--out", out.toString());
    assertEquals(2, compare.exitCode(), compare.err());
    assertTrue(compare.oneErrorLine(), compare.err());
    assertTrue(compare.err().contains("cannot write kv-memory.png, a directory of that name is there"),
        compare.err());
    assertTrue(compare.out().isEmpty(), "nothing measured or printed: " + compare.out());
    CliRun profile = CliRun.of("profile", "--model", "llama-3-8b", "--out", out.toString());
    assertEquals(2, profile.exitCode(), profile.err());
    assertTrue(profile.err().contains("cannot write kv-memory.png"), profile.err());
    assertTrue(profile.out().isEmpty(), "no table printed before the refusal: " + profile.out());
  }

  @Test
  void outBelowAFileIsRefusedBeforeAnyWork() throws IOException {
    Path file = Files.writeString(dir.resolve("taken"), "x");
    String below = file.resolve("sub").toString();
    CliRun compare = CliRun.of("compare", "--quick", "--out", below);
    assertEquals(2, compare.exitCode());
    assertTrue(compare.oneErrorLine() && compare.err().contains("is not a directory"), compare.err());
    assertTrue(compare.out().isEmpty(), "nothing measured or printed: " + compare.out());
    CliRun report = CliRun.of("report", "src/test/resources/jmh/decode-sample.json", "--out", below);
    assertEquals(2, report.exitCode());
    assertTrue(report.oneErrorLine() && report.err().contains("is not a directory"), report.err());
    assertTrue(report.out().isEmpty(), "no table printed before the refusal: " + report.out());
  }

  @Test
  void anOutThatCannotBeMadeIsRefusedBeforeAnythingIsPrinted() {
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self")),
        "needs Linux's /proc, where permissions allow what the file system refuses");
    CliRun report = CliRun.of("report", "src/test/resources/jmh/decode-sample.json", "--json",
        "--out", "/proc/mqa-report");
    assertEquals(2, report.exitCode(), report.err());
    assertTrue(report.oneErrorLine() && report.err().contains("--out /proc/mqa-report: cannot "
        + "create the directory"), report.err());
    assertTrue(report.out().isEmpty(), "no JSON printed before the refusal: " + report.out());
  }

  @Test
  void theReportsCommandLineRunsAsGiven() throws IOException {
    Path out = dir.resolve("with space");
    CliRun run = CliRun.of("report", "src/test/resources/jmh/decode-sample.json", "--out",
        out.toString());
    assertEquals(0, run.exitCode(), run.err());
    assertTrue(Files.readString(out.resolve("report.md")).contains("Command: `./mqa report "
        + "src/test/resources/jmh/decode-sample.json --out '" + out + "'`"),
        Files.readString(out.resolve("report.md")));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "missing.json|no such file",
      "src/test/resources|src/test/resources: a directory, not a file",
      "src/test/resources/npy/q.npy|not JSON",
      "src/test/resources/npy/empty.npy|empty.npy: an empty file, not a compare results.json or JMH result file"})
  void reportRefusesFilesItCannotRead(String file, String message) {
    CliRun run = CliRun.of("report", file, "--no-files");
    assertEquals(2, run.exitCode(), run.err());
    assertTrue(run.oneErrorLine() && run.err().contains(message), run.err());
  }

  @Test
  void everyCommandHasHelpWithAnExample() {
    for (String command : List.of("compare", "attend", "roofline", "report", "profile")) {
      CliRun run = CliRun.of(command, "--help");
      assertEquals(0, run.exitCode(), command);
      assertTrue(run.out().contains("Example"), command + ": " + run.out());
    }
    // Help wraps at 80 columns: an example line longer than that would print as two, and a
    // copied example would run as two commands.
    picocli.CommandLine cli = new picocli.CommandLine(new Mqa());
    List<picocli.CommandLine> commands = new java.util.ArrayList<>(cli.getSubcommands().values());
    commands.add(cli);
    for (picocli.CommandLine c : commands) {
      boolean examples = false;
      for (String line : c.getCommandSpec().usageMessage().footer()) {
        examples |= line.startsWith("Example");
        if (!examples) {
          continue; // prose may wrap
        }
        assertTrue(line.length() < 80, c.getCommandName() + "'s help: " + line);
        assertTrue(c.getUsageMessage().lines().anyMatch(line::equals),
            c.getCommandName() + "'s help does not print, whole: " + line);
      }
    }
  }

  @Test
  void headsWideEnoughToOverflowAChunkOfTokensStillRun() {
    // 2^23 floats a token: 256 tokens of them pass an array's length, and were asked for at once.
    CliRun run = CliRun.of("compare", "--quick", "--in-process", "--no-files", "--no-progress",
        "--phase", "decode", "--contexts", "1", "--layouts", "mqa", "--kernels", "scalar",
        "--dtypes", "f32", "--block-tokens", "1", "--query-heads", "1", "--head-dim", "8388608");
    assertEquals(0, run.exitCode(), run.err());
    assertTrue(run.out().contains("decode  mqa 1/1  scalar"), run.out());
  }

  @Test
  void roundsReportEachCaseOnceWithEveryRoundsMedian() throws IOException {
    Path out = dir.resolve("rounds");
    CliRun run = CliRun.of("compare", "--quick", "--rounds", "3", "--no-progress", "--json",
        "--out", out.toString(), "--phase", "decode", "--contexts", "64", "--layouts", "mha,mqa",
        "--kernels", "scalar", "--dtypes", "f32", "--query-heads", "4", "--head-dim", "32");
    assertEquals(0, run.exitCode(), run.err());
    JsonNode report = new ObjectMapper().readTree(run.out());
    JsonNode rows = report.get("rows");
    assertEquals(2, rows.size(), rows.toString());
    for (JsonNode row : rows) {
      JsonNode rounds = row.get("roundMicros");
      assertEquals(3, rounds.size(), row.toString());
      double[] sorted = {rounds.get(0).asDouble(), rounds.get(1).asDouble(), rounds.get(2).asDouble()};
      Arrays.sort(sorted);
      assertEquals(sorted[1], row.get("microsPerStep").asDouble(), 0.0, row.toString());
    }
    assertTrue(report.get("notes").toString().contains("median of 3 rounds"), report.toString());
    // The saved results read back with their rounds.
    CliRun again = CliRun.of("report", out.resolve("results.json").toString(), "--no-files");
    assertEquals(0, again.exitCode(), again.err());
  }

  @Test
  void noCommandIsBadInput() {
    CliRun run = CliRun.of();
    assertEquals(2, run.exitCode());
    assertTrue(run.oneErrorLine() && run.err().contains("missing a command"), run.err());
  }

  @Test
  void rooflineJsonHasTheFiguresNamed() throws IOException {
    CliRun run = CliRun.of("roofline", "--json", "--buffer-mib", "64");
    assertEquals(0, run.exitCode(), run.err());
    JsonNode r = new ObjectMapper().readTree(run.out());
    for (String field : List.of("readGBps", "fmaGflops", "readGBpsOneThread", "fmaGflopsOneThread",
        "speciesBits", "lanes")) {
      assertTrue(r.get(field).asDouble() > 0, field + " in " + r);
    }
  }

  @Test
  void runningOutOfMemoryNamesTheContextsOfThePhasesRun() {
    CompareSettings prefill = new CompareSettings(List.of("prefill"), List.of(1024, 4096),
        List.of(512, 2048), 32, 8, 8192, List.of("mha"), List.of("simd"), List.of("f32"), 1, 512,
        64, StepTimer.Budget.NORMAL);
    String said = CompareCommand.notEnoughMemory(prefill, new OutOfMemoryError("no room"))
        .getMessage();
    assertEquals("not enough memory for --contexts [512, 2048] (prefill) of --query-heads 32 and "
        + "--head-dim 8192 in blocks of --block-tokens 64 (no room)", said);
    CompareSettings both = new CompareSettings(List.of("decode", "prefill"), List.of(1024),
        List.of(512), 32, 8, 128, List.of("mha"), List.of("simd"), List.of("f32"), 1, 512, 64,
        StepTimer.Budget.NORMAL);
    assertTrue(CompareCommand.notEnoughMemory(both, new OutOfMemoryError("x")).getMessage()
        .startsWith("not enough memory for --contexts [1024] (decode) and [512] (prefill) of"));
  }
}
