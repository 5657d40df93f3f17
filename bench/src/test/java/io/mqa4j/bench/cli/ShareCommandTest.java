package io.mqa4j.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code mqa share}: one row per cache, the byte counts it judges by, and its errors. */
class ShareCommandTest {

  /** A small run: 100 keys, 4 heads of 32, a 64 MiB read, two rounds of two steps. */
  private static final String[] SMALL = {"--context", "100", "--query-heads", "4", "--head-dim",
      "32", "--buffer-mib", "64", "--rounds", "2", "--steps", "2", "--threads", "1"};

  /**
   * {@code mqa share} with {@link #SMALL}'s options, any of them replaced by {@code more} (a value
   * of {@code -} leaves the option out).
   */
  private static CliRun share(String... more) {
    Map<String, String> options = new LinkedHashMap<>();
    for (int i = 0; i < SMALL.length; i += 2) {
      options.put(SMALL[i], SMALL[i + 1]);
    }
    List<String> flags = new ArrayList<>();
    for (int i = 0; i < more.length; i++) {
      if (i + 1 < more.length && !more[i + 1].startsWith("--")) {
        String key = more[i];
        String value = more[++i];
        if (value.equals("-")) {
          options.remove(key);
        } else {
          options.put(key, value);
        }
      } else {
        flags.add(more[i]);
      }
    }
    List<String> args = new ArrayList<>(List.of("share"));
    options.forEach((k, v) -> {
      args.add(k);
      args.add(v);
    });
    args.addAll(flags);
    return CliRun.of(args.toArray(String[]::new));
  }

  @Test
  void jsonGivesEveryCacheItsBytesShareAndRatioToTheFirst() throws Exception {
    CliRun run = share("--caches", "contiguous,bf16,q8_0", "--json");
    assertEquals(0, run.exitCode(), run.err());
    JsonNode r = new ObjectMapper().readTree(run.out());
    // What was measured, as the table's first line says it.
    assertEquals("mha", r.get("layout").asText());
    assertEquals(4, r.get("queryHeads").asInt());
    assertEquals(4, r.get("kvHeads").asInt());
    assertEquals(32, r.get("headDim").asInt());
    assertEquals(100, r.get("context").asInt());
    assertTrue(r.get("kernel").asText().contains("simd"), r.toString());
    assertEquals(2, r.get("rounds").asInt());
    assertEquals(2, r.get("stepsPerRound").asInt());
    assertEquals(64L << 20, r.get("bufferBytes").asLong());
    double read = r.get("readGBpsMedian").asDouble();
    assertTrue(r.get("readGBpsMin").asDouble() <= read && read <= r.get("readGBpsMax").asDouble(),
        r.toString());
    JsonNode rows = r.get("rows");
    assertEquals(3, rows.size());
    assertEquals("f32 contiguous", rows.get(0).get("cache").asText());
    assertEquals("bf16 paged", rows.get(1).get("cache").asText());
    assertEquals("q8_0 paged", rows.get(2).get("cache").asText());
    // K and V of 100 tokens, 4 KV heads (MHA) of 32: 4 bytes, 2 bytes, and one 34-byte q8_0 block per head.
    assertEquals(2L * 100 * 4 * 32 * 4, rows.get(0).get("bytesPerStep").asLong());
    assertEquals(2L * 100 * 4 * 32 * 2, rows.get(1).get("bytesPerStep").asLong());
    assertEquals(2L * 100 * 4 * 34, rows.get(2).get("bytesPerStep").asLong());
    assertEquals(1.0, rows.get(0).get("timeRatioMedian").asDouble(), 1e-12);
    for (JsonNode row : rows) {
      double ms = row.get("medianMs").asDouble();
      assertTrue(ms > 0, row.toString());
      assertEquals(row.get("bytesPerStep").asLong() / (ms * 1e6), row.get("gbps").asDouble(), 1e-9);
      double share = row.get("shareMedian").asDouble();
      assertTrue(share > 0 && row.get("shareMin").asDouble() <= share
          && share <= row.get("shareMax").asDouble(), row.toString());
      assertTrue(row.get("timeRatioMin").asDouble() <= row.get("timeRatioMedian").asDouble(),
          row.toString());
    }
  }

  @Test
  void theScalarKernelIsJudgedAgainstOneThreadsRead() throws Exception {
    CliRun run = share("--kernel", "scalar", "--threads", "-", "--caches", "f32", "--json");
    assertEquals(0, run.exitCode(), run.err());
    assertEquals(1, new ObjectMapper().readTree(run.out()).get("threads").asInt());
    run = share("--kernel", "scalar", "--threads", "2", "--caches", "f32");
    assertEquals(2, run.exitCode(), run.err());
    assertTrue(run.err().contains("--threads 2 has no effect with --kernel scalar"), run.err());
    run = share("--kernel", "simd", "--threads", "2", "--caches", "f32", "--json");
    assertEquals(0, run.exitCode(), run.err());
    assertEquals(2, new ObjectMapper().readTree(run.out()).get("threads").asInt());
  }

  @Test
  void tableNamesTheLayoutAndTheReferenceCache() {
    CliRun run = share("--layout", "gqa", "--kv-heads", "2", "--caches", "bf16,f32");
    assertEquals(0, run.exitCode(), run.err());
    assertTrue(run.out().startsWith("GQA decode, 4 query heads over 2 KV heads"), run.out());
    assertTrue(run.out().contains("time vs bf16 paged"), run.out());
    assertTrue(run.out().contains("f32 paged"), run.out());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "--caches|f32,q4|--caches must be contiguous or a KV type (f32, f16, bf16, q8_0), got 'q4'",
      "--caches|bf16,BF16|'bf16' twice",
      "--rounds|0|--rounds must be 1 to 1000, got 0",
      "--rounds|2147483647|--rounds must be 1 to 1000, got 2147483647",
      "--steps|-1|--steps must be 1 to 10000, got -1",
      "--steps|2147483647|--steps must be 1 to 10000, got 2147483647",
      "--caches|','|--caches names no cache",
      "--caches|'bf16,,f32'|--caches 'bf16,,f32' holds an empty name",
      "--layout|mla|--layout must be mha, gqa or mqa, got 'mla'",
      "--context|0|--context must be >= 1, got 0",
      "--block-tokens|1000000|--block-tokens must be at most --context 100, got 1000000",
      "--buffer-mib|8|--buffer-mib must be >= 64, got 8",
      "--buffer-mib|2147483647|--buffer-mib 2147483647: cannot allocate the buffer",
      "--context|2147483647|--context 2147483647 of 4 KV heads of --head-dim 32 (blocks of --block-tokens 64): cannot allocate",
      "--threads|100000|--threads must be in [1, 1024], got 100000",
      "--kv-heads|2|--kv-heads 2 has no effect unless --layout is gqa",
      "--head-dim|2147483647|--query-heads 4 x --head-dim 2147483647 is more floats per query than an array holds",
      "--kernel|fast|--kernel must be scalar, simd or best, got 'fast'"})
  void badInputExitsTwoWithOneLineNamingIt(String option, String value, String message) {
    CliRun run = share(option, value);
    assertEquals(2, run.exitCode(), run.out() + run.err());
    assertTrue(run.oneErrorLine(), run.err());
    assertTrue(run.err().contains(message), run.err());
    assertEquals("", run.out());
  }

  @Test
  void gqaKvHeadsMustDivideQueryHeads() {
    CliRun run = share("--layout", "gqa", "--kv-heads", "3");
    assertEquals(2, run.exitCode());
    assertTrue(run.err().contains("--kv-heads must divide --query-heads=4, got 3"), run.err());
  }

  @Test
  void q8CacheNeedsWholeBlocksPerHead() {
    CliRun run = share("--head-dim", "48", "--caches", "contiguous,q8_0");
    assertEquals(2, run.exitCode());
    assertTrue(run.err().contains("--caches q8_0 needs a head dim that is a multiple of 32, got 48"),
        run.err());
  }
}
