package io.mqa4j.bench.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code mqa report}: bad results.json and JMH files are refused by name, and --out stays whole. */
class ReportCommandTest {

  private static final String SAMPLE = "src/test/resources/jmh/decode-sample.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path dir;

  /** A real results.json, as report writes it from the JMH sample (three decode rows). */
  private Path goodResults() throws IOException {
    Path good = dir.resolve("good");
    CliRun run = CliRun.of("report", SAMPLE, "--out", good.toString());
    assertEquals(0, run.exitCode(), run.err());
    return good.resolve("results.json");
  }

  /** results.json with field {@code field} of row 2 set to {@code value} (JSON; "-" removes it). */
  private Path resultsWith(String field, String value) throws IOException {
    ObjectNode root = (ObjectNode) JSON.readTree(goodResults().toFile());
    ObjectNode row = (ObjectNode) root.get("rows").get(1);
    if (value.equals("-")) {
      row.remove(field);
    } else {
      row.set(field, JSON.readTree(value));
    }
    Path file = dir.resolve("res.json");
    Files.writeString(file, JSON.writeValueAsString(root));
    return file;
  }

  private static void assertRefused(CliRun run, String... fragments) {
    assertEquals(2, run.exitCode(), run.err());
    assertTrue(run.oneErrorLine(), run.err());
    for (String fragment : fragments) {
      assertTrue(run.err().contains(fragment), "'" + fragment + "' in " + run.err());
    }
  }

  // Every field of every row is checked, by file, row, field and value, and nothing is written.
  @ParameterizedTest(name = "{0}={1}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "phase|null|row 2 of 3: phase is null",
      "phase|-|row 2 of 3: phase is missing",
      "phase|\"warmup\"|row 2 of 3: phase must be decode or prefill, got 'warmup'",
      "layout|\"xqa\"|row 2 of 3: layout must be mha, gqa or mqa, got 'xqa'",
      "kernel|null|row 2 of 3: kernel is null",
      "dtype|\"f64\"|row 2 of 3: dtype: unknown KV type 'f64'",
      "microsPerStep|0|row 2 of 3: microsPerStep must be > 0, got 0.0",
      "microsPerStep|-3.5|row 2 of 3: microsPerStep must be > 0, got -3.5",
      "microsPerStep|\"fast\"|row 2 of 3: microsPerStep must be a number, got \"fast\"",
      "microsP90|null|row 2 of 3: microsP90 is null",
      "context|0|row 2 of 3: context must be >= 1, got 0",
      "context|-16384|row 2 of 3: context must be >= 1, got -16384",
      "context|-|row 2 of 3: context is missing",
      "context|1.5|row 2 of 3: context must be a whole number, got 1.5",
      "context|1099511627776|row 2 of 3: context must be at most 2147483647, got 1099511627776",
      "kvBytesReadPerStep|-99999999999999999999|row 2 of 3: kvBytesReadPerStep must be at least -9223372036854775808",
      "queryHeads|0|row 2 of 3: queryHeads must be >= 1, got 0",
      "kvBytesPerToken|0|row 2 of 3: kvBytesPerToken must be >= 1, got 0",
      "speedupVsMha|-2|row 2 of 3: speedupVsMha must be > 0, got -2.0",
      "colour|\"red\"|row 2 of 3: unknown field 'colour'",
      "kvHeads|5|row 2 of 3: kvHeads 5 does not fit layout",
      "microsP10|9e9|row 2 of 3: microsP10 9.0E9, microsPerStep",
      "roundMicros|[5]|row 2 of 3: roundMicros must be an array of two or more numbers, got [5]",
      "roundMicros|\"5,6\"|row 2 of 3: roundMicros must be an array of two or more numbers",
      "roundMicros|[1, \"x\"]|row 2 of 3: roundMicros must be an array of two or more numbers",
      "roundMicros|[1, -2]|row 2 of 3: roundMicros must be > 0, got -2.0",
      "roundMicros|[1, 2]|row 2 of 3: microsPerStep 2000.0 must be one of roundMicros [1.0, 2.0]"})
  void badRowIsRefusedByFileRowFieldAndValueBeforeWriting(String field, String value, String message)
      throws IOException {
    Path file = resultsWith(field, value);
    Path out = dir.resolve("out");
    CliRun run = CliRun.of("report", file.toString(), "--out", out.toString());
    assertRefused(run, file + ": " + message);
    assertFalse(run.err().contains("Exception"), run.err());
    assertFalse(Files.exists(out), "nothing written");
  }

  // The machine and roofline a report prints are checked as its rows are.
  @ParameterizedTest(name = "{0}.{1}={2}")
  @CsvSource(delimiter = '|', value = {
      "machine|processors|-5|machine: processors must be >= 1, got -5",
      "machine|memoryBytes|-2|machine: memoryBytes must be >= -1, got -2",
      "machine|cpu|null|machine: cpu is missing",
      "roofline|speciesBits|-1|roofline: speciesBits must be 64 or a wider power of two, got -1",
      "roofline|speciesBits|384|roofline: speciesBits must be 64 or a wider power of two, got 384"})
  void badMachineOrRooflineIsRefused(String part, String field, String value, String message)
      throws IOException {
    ObjectNode root = (ObjectNode) JSON.readTree(goodResults().toFile());
    if (!root.get(part).isObject()) { // a report from JMH has no roofline: give it a good one
      root.set(part, JSON.readTree("{\"readGBps\": 30, \"fmaGflops\": 300, \"readGBpsOneThread\": 20, "
          + "\"fmaGflopsOneThread\": 150, \"threads\": 2, \"speciesBits\": 512}"));
    }
    ((ObjectNode) root.get(part)).set(field, JSON.readTree(value));
    Path file = dir.resolve("machine.json");
    Files.writeString(file, JSON.writeValueAsString(root));
    assertRefused(CliRun.of("report", file.toString(), "--no-files"), file + ": " + message);
  }

  @Test
  void jacksonsClassNamesStayOutOfMessages() throws IOException {
    ObjectNode root = (ObjectNode) JSON.readTree(goodResults().toFile());
    root.put("colour", "red");
    Path file = dir.resolve("unknown.json");
    Files.writeString(file, JSON.writeValueAsString(root));
    CliRun run = CliRun.of("report", file.toString(), "--no-files");
    assertRefused(run, file + ": colour: unknown field 'colour'");
    assertFalse(run.err().contains("io.mqa4j") || run.err().contains("ignorable"), run.err());
  }

  @Test
  void anEmptyOrUnreadableFileSaysSo() throws IOException {
    Path empty = Files.createFile(dir.resolve("empty.json"));
    assertRefused(CliRun.of("report", empty.toString(), "--no-files"), empty + ": an empty file");
  }

  @Test
  void rowsThatAreOptionalMayBeNull() throws IOException {
    for (String field : List.of("rooflineShare", "roundMicros")) {
      Path file = resultsWith(field, "null");
      CliRun run = CliRun.of("report", file.toString(), "--no-files");
      assertEquals(0, run.exitCode(), field + ": " + run.err());
    }
  }

  @Test
  void roundsThatHoldTheRowsMedianAreKept() throws IOException {
    ObjectNode root = (ObjectNode) JSON.readTree(goodResults().toFile());
    ObjectNode row = (ObjectNode) root.get("rows").get(1);
    double median = row.get("microsPerStep").asDouble();
    row.set("roundMicros", JSON.readTree("[" + median * 2 + ", " + median + ", " + median / 2 + "]"));
    Path file = dir.resolve("rounds.json");
    Files.writeString(file, JSON.writeValueAsString(root));
    CliRun run = CliRun.of("report", file.toString(), "--json", "--no-files");
    assertEquals(0, run.exitCode(), run.err());
    assertEquals(3, JSON.readTree(run.out()).get("rows").get(1).get("roundMicros").size(), run.out());
  }

  private Path jmh(String name, String params, String metric) throws IOException {
    String text = """
        [ { "benchmark": "io.mqa4j.bench.jmh.DecodeBenchmark.decode", "mode": "avgt",
            "params": { "context": "1024", "headDim": "128", "kernel": "simd", "layout": "mha",
                        "queryHeads": "32", "threads": "2", "dtype": "f32" },
            "primaryMetric": { "score": 100.0, "scoreUnit": "us/op", "rawData": [[99.0, 100.0, 101.0]] } },
          { "benchmark": "io.mqa4j.bench.jmh.DecodeBenchmark.decode", "mode": "avgt",
            "params": { %s },
            "primaryMetric": { %s } } ]
        """.formatted(params, metric);
    Path file = dir.resolve(name);
    Files.writeString(file, text);
    return file;
  }

  private static final String PARAMS = "\"context\": \"1024\", \"headDim\": \"128\", \"kernel\": \"simd\", "
      + "\"layout\": \"mqa\", \"queryHeads\": \"32\", \"threads\": \"2\", \"dtype\": \"f32\"";
  private static final String METRIC = "\"score\": 10.0, \"scoreUnit\": \"us/op\", \"rawData\": [[9.0, 10.0, 11.0]]";

  // JMH scores and params are checked, and every message names the file and benchmark.
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "score 0|-|\"score\": 0.0, \"scoreUnit\": \"us/op\"|primaryMetric.score must be > 0, got 0.0",
      "score negative|-|\"score\": -5.0, \"scoreUnit\": \"us/op\"|primaryMetric.score must be > 0, got -5.0",
      "score missing|-|\"scoreUnit\": \"us/op\"|primaryMetric.score is missing",
      "raw negative|-|\"score\": 5.0, \"rawData\": [[5.0, -1.0]]|primaryMetric.rawData must hold positive numbers, got -1.0",
      "unit|-|\"score\": 5.0, \"scoreUnit\": \"furlongs\"|JMH score unit 'furlongs'",
      "context 0|\"context\": \"0\"|-|params.context must be >= 1, got '0'",
      "context negative|\"context\": \"-4096\"|-|params.context must be >= 1, got '-4096'",
      "context missing|\"layout\": \"mqa\"|-|params.context is missing",
      "context text|\"context\": \"lots\"|-|params.context must be a whole number, got 'lots'",
      "context huge|\"context\": \"3037000499\"|-|params.context must be at most 2147483647, got '3037000499'",
      "context hugely negative|\"context\": \"-3037000499\"|-|params.context must be >= 1, got '-3037000499'",
      "flops past a long|\"context\": \"2147483647\", \"layout\": \"mqa\", \"queryHeads\": \"2147483647\", \"headDim\": \"2147483647\"|-|params context (or tokens) 2147483647, queryHeads 2147483647 and headDim 2147483647 make more bytes or flops a step than a long holds",
      "dtype|\"context\": \"1024\", \"dtype\": \"f64\"|-|unknown KV type 'f64'",
      "headDim|\"context\": \"1024\", \"headDim\": \"-1\"|-|params.headDim must be >= 1, got '-1'",
      "q8_0 headDim|\"context\": \"1024\", \"headDim\": \"48\", \"dtype\": \"q8_0\"|-|KV type q8_0 needs a head dim that is a multiple of 32",
      "layout|\"context\": \"1024\", \"layout\": \"xqa\"|-|params.layout must be mha, gqa or mqa, got 'xqa'",
      "threads|\"context\": \"1024\", \"threads\": \"-2\"|-|params.threads must be >= 0, got '-2'"})
  void badJmhResultIsRefusedNamingFileAndBenchmark(String name, String params, String metric,
      String message) throws IOException {
    Path file = jmh("jmh.json", params.equals("-") ? PARAMS : params, metric.equals("-") ? METRIC : metric);
    Path out = dir.resolve("out");
    CliRun run = CliRun.of("report", file.toString(), "--out", out.toString());
    assertRefused(run, file + ": benchmark 2 (DecodeBenchmark.decode): " + message);
    assertFalse(run.err().contains("logarithmic"), run.err());
    assertFalse(Files.exists(out), "nothing written");
  }

  @Test
  void goodJmhResultStillReports() throws IOException {
    Path file = jmh("jmh.json", PARAMS, METRIC);
    CliRun run = CliRun.of("report", file.toString(), "--no-files");
    assertEquals(0, run.exitCode(), run.err());
    assertTrue(run.out().contains("10.00x"), run.out());
    // The legend says once that there was no roofline; every row gave its threads, so no note
    // says what threads=0 stands for.
    assertEquals(1, run.out().split("roofline was measured", -1).length - 1, run.out());
    assertFalse(run.out().contains("threads=0"), run.out());
  }

  /** A SIMD row run with threads=0, or without the parameter, is shown with this machine's count. */
  @ParameterizedTest
  @ValueSource(strings = {"\"threads\": \"0\", ", ""})
  void aJmhRowOnEveryProcessorGetsTheNote(String threads) throws IOException {
    Path file = jmh("jmh.json", threads + "\"context\": \"1024\", \"kernel\": \"simd\", "
        + "\"layout\": \"mqa\"", METRIC);
    CliRun run = CliRun.of("report", file.toString(), "--no-files");
    assertEquals(0, run.exitCode(), run.err());
    assertTrue(run.out().contains("threads=0 (every processor) shows this machine's count, "
        + Runtime.getRuntime().availableProcessors()), run.out());
  }

  /** The scalar kernel runs on one thread whatever threads says. */
  @Test
  void aScalarJmhRowWithoutThreadsGetsNoNote() throws IOException {
    Path file = jmh("jmh.json", "\"context\": \"1024\", \"kernel\": \"scalar\", "
        + "\"layout\": \"mqa\"", METRIC);
    CliRun run = CliRun.of("report", file.toString(), "--no-files");
    assertEquals(0, run.exitCode(), run.err());
    assertFalse(run.out().contains("threads=0"), run.out());
  }

  @Test
  void aBareNaNIsRefusedWithoutTheParsersAdvice() throws IOException {
    Path file = Files.writeString(dir.resolve("nan.json"), "{\"rows\": [NaN]}");
    CliRun run = CliRun.of("report", file.toString(), "--no-files");
    assertRefused(run, file + ": not JSON: ", "NaN");
    assertFalse(run.err().contains("enable"), run.err());
  }

  // An empty or shapeless results file gets a message of ours, not Jackson's internals.
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "{\"rows\":[]}|rows is empty: no decode or prefill results",
      "{\"rows\":null}|rows is null",
      "{\"rows\":{}}|rows must be an array of rows",
      "{\"rows\":[{}]}|row 1 of 1: phase is missing",
      "{\"rows\":[7]}|row 1 of 1: must be an object",
      "{\"rows\":[{\"phase\":\"decode\"}]}|row 1 of 1: layout is missing",
      "{\"rows\":[], \"notes\": null}|rows is empty"})
  void emptyOrShapelessResultsAreNamed(String text, String message) throws IOException {
    Path file = Files.writeString(dir.resolve("res.json"), text);
    CliRun run = CliRun.of("report", file.toString(), "--out", dir.resolve("out").toString());
    assertRefused(run, file + ": " + message);
    assertFalse(run.err().contains("Cannot invoke") || run.err().contains("coll"), run.err());
    assertFalse(Files.exists(dir.resolve("out")));
  }

  @Test
  void anythingAfterTheJsonValueIsRefused() throws IOException {
    String good = Files.readString(goodResults());
    for (String after : List.of(" garbage", good, "[]")) {
      Path file = Files.writeString(dir.resolve("res.json"), good + after);
      CliRun run = CliRun.of("report", file.toString(), "--no-files");
      assertRefused(run, file + ": not JSON");
    }
    Path jmh = Files.writeString(dir.resolve("jmh.json"), Files.readString(Path.of(SAMPLE)) + "x");
    assertRefused(CliRun.of("report", jmh.toString(), "--no-files"), jmh + ": not JSON");
  }

  @Test
  void settingsWithMissingListsAreNamed() throws IOException {
    ObjectNode root = (ObjectNode) JSON.readTree(goodResults().toFile());
    root.putObject("settings").put("queryHeads", 32);
    Path file = Files.writeString(dir.resolve("res.json"), JSON.writeValueAsString(root));
    CliRun run = CliRun.of("report", file.toString(), "--no-files");
    assertRefused(run, file + ": settings.phases is missing");
  }

  @Test
  void resultsWithoutNotesReport() throws IOException {
    ObjectNode root = (ObjectNode) JSON.readTree(goodResults().toFile());
    root.remove("notes");
    Path file = Files.writeString(dir.resolve("res.json"), JSON.writeValueAsString(root));
    CliRun run = CliRun.of("report", file.toString(), "--no-files");
    assertEquals(0, run.exitCode(), run.err());
  }

  private static Map<String, byte[]> snapshot(Path dir) throws IOException {
    Map<String, byte[]> files = new TreeMap<>();
    try (Stream<Path> list = Files.list(dir)) {
      for (Path p : list.toList()) {
        files.put(p.getFileName().toString(), Files.readAllBytes(p));
      }
    }
    return files;
  }

  private static void assertSame(Map<String, byte[]> before, Map<String, byte[]> after) {
    assertEquals(before.keySet(), after.keySet());
    before.forEach((name, bytes) -> assertArrayEquals(bytes, after.get(name), name));
  }

  // A failing report leaves a good --out exactly as it was.
  @Test
  void failingReportLeavesAGoodReportDirectoryAsItWas() throws IOException {
    // Every bad input is made first: resultsWith writes the good report again, with a new time.
    java.util.List<Path> bads = new java.util.ArrayList<>();
    for (String[] change : new String[][] {{"phase", "null"}, {"microsPerStep", "-1"}, {"context", "0"}}) {
      Path bad = dir.resolve("bad-" + change[0] + ".json");
      Files.move(resultsWith(change[0], change[1]), bad);
      bads.add(bad);
    }
    Path good = goodResults().getParent();
    Map<String, byte[]> before = snapshot(good);
    for (Path bad : bads) {
      CliRun run = CliRun.of("report", bad.toString(), "--out", good.toString());
      assertEquals(2, run.exitCode(), run.err());
      assertSame(before, snapshot(good));
    }
    Path badJmh = jmh("jmh.json", PARAMS, "\"score\": -1.0");
    assertEquals(2, CliRun.of("report", badJmh.toString(), "--out", good.toString()).exitCode());
    assertSame(before, snapshot(good));
  }

  @Test
  void aRowRepeatingAnotherIsRefused() throws IOException {
    ObjectNode root = (ObjectNode) JSON.readTree(goodResults().toFile());
    com.fasterxml.jackson.databind.node.ArrayNode rows = (com.fasterxml.jackson.databind.node.ArrayNode) root.get("rows");
    rows.add(rows.get(0).deepCopy());
    Path file = Files.writeString(dir.resolve("twice.json"), JSON.writeValueAsString(root));
    assertRefused(CliRun.of("report", file.toString(), "--out", dir.resolve("out").toString()),
        file + ": row " + rows.size() + " of " + rows.size() + ": measures the same case as row 1");
    assertFalse(Files.exists(dir.resolve("out")));
  }

  /** Four JMH timings: MHA and MQA decode, each from a contiguous and a paged cache. */
  private Path contiguousAndPaged() throws IOException {
    StringBuilder text = new StringBuilder("[");
    String[][] runs = {{"mha", "contiguous", "100.0"}, {"mqa", "contiguous", "10.0"},
        {"mha", "paged", "120.0"}, {"mqa", "paged", "20.0"}};
    for (String[] r : runs) {
      text.append(text.length() > 1 ? "," : "").append("""
          { "benchmark": "io.mqa4j.bench.jmh.DecodeBenchmark.decode", "mode": "avgt",
            "params": { "context": "1024", "headDim": "128", "kernel": "simd", "layout": "%s",
                        "queryHeads": "32", "threads": "2", "dtype": "f32", "cache": "%s" },
            "primaryMetric": { "score": %s, "scoreUnit": "us/op" } }
          """.formatted(r[0], r[1], r[2]));
    }
    return Files.writeString(dir.resolve("both.json"), text.append("]"));
  }

  // A run over a parameter the table does not show is refused by name, then reported a value at
  // a time.
  @Test
  void aJmhRunOverTwoCachesIsReportedOneCacheAtATime() throws IOException {
    Path file = contiguousAndPaged();
    Path out = dir.resolve("out");
    assertRefused(CliRun.of("report", file.toString(), "--out", out.toString()),
        file + ": benchmarks 1 and 3 time one row (decode mha simd f32 at 1024 keys) and differ in "
            + "params.cache (contiguous, paged), which the table does not show",
        "(mqa report --param cache=VALUE)");
    assertFalse(Files.exists(out));

    CliRun paged = CliRun.of("report", file.toString(), "--param", "cache=PAGED", "--no-files");
    assertEquals(0, paged.exitCode(), paged.err());
    assertTrue(paged.out().contains("6.00x"), paged.out()); // 120 us against 20
    assertFalse(paged.out().contains("10.00x"), paged.out());
    assertTrue(paged.out().contains("benchmarks with cache=PAGED (or without the parameter)"),
        paged.out());

    CliRun contiguous = CliRun.of("report", file.toString(), "-p", "cache=contiguous",
        "--no-files");
    assertEquals(0, contiguous.exitCode(), contiguous.err());
    assertTrue(contiguous.out().contains("10.00x"), contiguous.out());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "cache=ring|no benchmark has params.cache=ring; its values: contiguous, paged",
      "queries=segment|no benchmark has params.queries=segment; none has that parameter",
      "cache|--param must be NAME=VALUE, got 'cache'",
      "=paged|--param must be NAME=VALUE, got '=paged'"})
  void aParamThatPicksNothingIsRefused(String param, String message) throws IOException {
    Path file = contiguousAndPaged();
    assertRefused(CliRun.of("report", file.toString(), "--param", param, "--no-files"), message);
  }

  @Test
  void aParamTwiceOrValuesNoBenchmarkHasTogetherAreRefused() throws IOException {
    Path file = contiguousAndPaged();
    assertRefused(CliRun.of("report", file.toString(), "-p", "cache=paged", "-p", "cache=contiguous",
        "--no-files"), "--param names cache twice (paged and contiguous)");
    assertRefused(CliRun.of("report", file.toString(), "-p", "cache=paged", "-p", "layout=gqa",
        "--no-files"), "no benchmark has params.layout=gqa; its values: mha, mqa");
    String decode = """
        { "benchmark": "io.mqa4j.bench.jmh.DecodeBenchmark.decode", "mode": "avgt",
          "params": { "context": "1024", "headDim": "128", "kernel": "simd", "layout": "mqa",
                      "queryHeads": "32", "threads": "2", "dtype": "f32", "cache": "%s",
                      "queries": "%s" },
          "primaryMetric": { "score": 10.0, "scoreUnit": "us/op" } }
        """;
    Path apart = Files.writeString(dir.resolve("apart.json"), "[" + decode.formatted("contiguous",
        "array") + "," + decode.formatted("paged", "segment") + "]");
    assertRefused(CliRun.of("report", apart.toString(), "-p", "cache=paged", "-p", "queries=array",
        "--no-files"), "no benchmark has params.cache=paged and params.queries=array together");
  }

  // A benchmark without the parameter (prefill has no cache) is kept, not dropped.
  @Test
  void aParamKeepsBenchmarksThatDoNotHaveIt() throws IOException {
    Path file = contiguousAndPaged();
    String text = Files.readString(file);
    String prefill = """
        , { "benchmark": "io.mqa4j.bench.jmh.PrefillBenchmark.prefill", "mode": "avgt",
            "params": { "context": "512", "headDim": "128", "kernel": "simd", "layout": "mha",
                        "queryHeads": "32", "threads": "2", "dtype": "f32" },
            "primaryMetric": { "score": 5000.0, "scoreUnit": "us/op" } } ]""";
    Path both = Files.writeString(dir.resolve("both-phases.json"),
        text.substring(0, text.lastIndexOf(']')) + prefill);
    CliRun run = CliRun.of("report", both.toString(), "-p", "cache=paged", "--no-files", "--json");
    assertEquals(0, run.exitCode(), run.err());
    JsonNode rows = JSON.readTree(run.out()).get("rows");
    assertEquals(3, rows.size(), run.out());
    assertEquals("prefill", rows.get(2).get("phase").asText());
  }

  /** One JMH timing of MQA f32 decode at 1024 keys, as JMH writes it. */
  private static String mqaDecode(String kernel, String threads, double micros) {
    return """
        { "benchmark": "io.mqa4j.bench.jmh.DecodeBenchmark.decode", "mode": "avgt",
          "params": { "context": "1024", "headDim": "128", "kernel": "%s", "layout": "mqa",
                      "queryHeads": "32", "threads": "%s", "dtype": "f32" },
          "primaryMetric": { "score": %s, "scoreUnit": "us/op" } }
        """.formatted(kernel, threads, micros);
  }

  // threads=0 means every processor of the run, which JMH does not record: beside a timing at
  // this machine's count it is refused, not merged into one row whichever comes first.
  @Test
  void simdTimingsAtZeroAndThisMachinesThreadsAreRefused() throws IOException {
    int here = io.mqa4j.core.AttentionKernels.processorThreads();
    Path file = Files.writeString(dir.resolve("threads0.json"), "[" + mqaDecode("simd", "0", 100)
        + "," + mqaDecode("simd", String.valueOf(here), 300) + "]");
    assertRefused(CliRun.of("report", file.toString(), "--no-files"),
        "benchmarks 1 and 2 time one row (decode mqa simd f32 at 1024 keys): threads=0 (every "
            + "processor) and threads=" + here + " are one thread count on this machine",
        "--param threads=VALUE");
    CliRun run = CliRun.of("report", file.toString(), "-p", "threads=" + here, "--no-files",
        "--json");
    assertEquals(0, run.exitCode(), run.err());
    assertEquals(300.0, JSON.readTree(run.out()).get("rows").get(0).get("microsPerStep").asDouble());
    // Picking threads=0 keeps the scalar timing, which ran on one thread whatever threads says.
    Path withScalar = Files.writeString(dir.resolve("threads0-scalar.json"), "["
        + mqaDecode("simd", "0", 100) + "," + mqaDecode("simd", String.valueOf(here), 300) + ","
        + mqaDecode("scalar", "1", 900) + "]");
    CliRun zero = CliRun.of("report", withScalar.toString(), "-p", "threads=0", "--no-files",
        "--json");
    assertEquals(0, zero.exitCode(), zero.err());
    assertEquals(2, JSON.readTree(zero.out()).get("rows").size(), zero.out());
  }

  @Test
  void aParamIsRefusedForCompareResults() throws IOException {
    Path results = goodResults();
    assertRefused(CliRun.of("report", results.toString(), "-p", "cache=paged", "--no-files"),
        results + ": --param picks JMH benchmarks, and this is a compare results.json");
  }

  // The scalar kernel runs on one thread whatever threads says: threads=0 and threads=1 are one
  // measurement twice, and the report keeps the first.
  @Test
  void scalarTimingsThatDifferOnlyInThreadsAreOneRow() throws IOException {
    Path file = Files.writeString(dir.resolve("threads.json"), "[" + mqaDecode("scalar", "0", 500)
        + "," + mqaDecode("scalar", "1", 900) + "]");
    CliRun run = CliRun.of("report", file.toString(), "--no-files", "--json");
    assertEquals(0, run.exitCode(), run.err());
    JsonNode rows = JSON.readTree(run.out()).get("rows");
    assertEquals(1, rows.size(), run.out());
    assertEquals(500.0, rows.get(0).get("microsPerStep").asDouble(), 1e-9);
  }

  @Test
  void aRooflineThatCannotBeIsRefused() throws IOException {
    ObjectNode root = (ObjectNode) JSON.readTree(goodResults().toFile());
    root.set("roofline", JSON.readTree("""
        {"readGBps": -1, "fmaGflops": 400, "readGBpsOneThread": 20, "fmaGflopsOneThread": 200,
         "threads": 2, "speciesBits": 512}"""));
    Path file = Files.writeString(dir.resolve("bad-roofline.json"), JSON.writeValueAsString(root));
    assertRefused(CliRun.of("report", file.toString(), "--out", dir.resolve("out").toString()),
        file + ": roofline: readGBps must be > 0, got -1.0");
    assertFalse(Files.exists(dir.resolve("out")));
  }

  @Test
  void outBesideNoFilesOrEmptyIsRefused() {
    assertRefused(CliRun.of("report", SAMPLE, "--no-files", "--out", dir.resolve("x").toString()),
        "--out " + dir.resolve("x") + " has no effect with --no-files");
    assertRefused(CliRun.of("report", SAMPLE, "--out", ""), "--out must name a directory, got an empty path");
    assertRefused(CliRun.of("report", "", "--no-files"), "the results file must name a file, got an empty path");
    assertRefused(CliRun.of("compare", "--from", "", "--no-files"), "--from must name a file, got an empty path");
    assertRefused(CliRun.of("compare", "--quick", "--out", ""), "--out must name a directory");
    assertFalse(Files.exists(dir.resolve("x")));
  }

  @Test
  void succeedingReportReplacesEveryFile() throws IOException {
    Path out = goodResults().getParent();
    assertTrue(Files.exists(out.resolve("decode-latency.png")));
    String prefill = """
        [ { "benchmark": "io.mqa4j.bench.jmh.PrefillBenchmark.prefill", "mode": "avgt",
            "params": { "context": "512", "headDim": "64", "kernel": "simd", "layout": "gqa",
                        "queryHeads": "32", "threads": "1", "dtype": "f32" },
            "primaryMetric": { "score": 3.5, "scoreUnit": "ms/op", "rawData": [[3.4, 3.5, 3.6]] } } ]
        """;
    Path file = Files.writeString(dir.resolve("prefill.json"), prefill);
    CliRun run = CliRun.of("report", file.toString(), "--out", out.toString());
    assertEquals(0, run.exitCode(), run.err());
    assertTrue(run.out().contains("wrote " + out + "/: report.md, results.json, kv-memory.png"), run.out());
    assertEquals(java.util.Set.of("report.md", "results.json", "kv-memory.png"), snapshot(out).keySet());
    JsonNode rows = JSON.readTree(out.resolve("results.json").toFile()).get("rows");
    assertEquals(1, rows.size());
    assertEquals("prefill", rows.get(0).get("phase").asText());
    String md = Files.readString(out.resolve("report.md"));
    assertTrue(md.contains(file.toString()) && !md.contains("decode-latency.png"), md);
  }

  // compare --from refuses options that measure, and bad values whatever else is given.
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "--contexts -5 --phase bogus|--phase must be decode, prefill or both, got 'bogus'",
      "--contexts -5|--contexts must all be >= 1, got -5",
      "--phase decode --contexts 1024|--phase, --contexts have no effect with --from",
      "--quick --in-process|--quick, --in-process have no effect with --from",
      "--layouts mqa --threads 2 --no-progress|--layouts, --threads, --no-progress have no effect with --from",
      "--head-dim 64|--head-dim has no effect with --from"})
  void compareFromRefusesMeasuringOptions(String options, String message) {
    String[] args = ("compare --from " + SAMPLE + " --out " + dir.resolve("out") + " " + options).split(" ");
    CliRun run = CliRun.of(args);
    assertRefused(run, message);
    assertFalse(Files.exists(dir.resolve("out")));
  }

  @Test
  void aSlowIterationDoesNotPushTheStepTimePastItsPercentiles() throws IOException {
    // JMH's score is the mean, 126.7 us here; the report gives the median, as compare does.
    Path file = jmh("jmh.json", PARAMS, "\"score\": 126.67, \"scoreUnit\": \"us/op\", \"rawData\": "
        + "[[100.0, 100.0, 100.0, 100.0, 100.0], [100.0, 100.0, 100.0, 100.0, 100.0], "
        + "[100.0, 100.0, 100.0, 100.0, 500.0]]");
    CliRun run = CliRun.of("report", file.toString(), "--no-files", "--json");
    assertEquals(0, run.exitCode(), run.err());
    JsonNode mqa = null;
    for (JsonNode row : JSON.readTree(run.out()).get("rows")) {
      if (row.get("layout").asText().equals("mqa")) {
        mqa = row;
      }
    }
    assertEquals(100.0, mqa.get("microsPerStep").asDouble(), 1e-9, mqa.toString());
  }

  @Test
  void aFileThatIsNotThereOrNotRegularIsNamedWithItsOption() {
    assertRefused(CliRun.of("compare", "--from", dir.resolve("nothere.json").toString()),
        "--from " + dir.resolve("nothere.json") + ": no such file");
    assertRefused(CliRun.of("report", "/dev/null", "--no-files"), "/dev/null: not a regular file");
    assertRefused(CliRun.of("compare", "--from", dir.toString()),
        "--from " + dir + ": a directory, not a file");
  }

  @Test
  void compareFromWithReportOptionsWorks() throws IOException {
    Path out = dir.resolve("out");
    CliRun run = CliRun.of("compare", "--from", SAMPLE, "--out", out.toString(), "--json");
    assertEquals(0, run.exitCode(), run.err());
    assertEquals(3, JSON.readTree(run.out()).get("rows").size());
    assertTrue(Files.exists(out.resolve("results.json")));
  }
}
