package io.mqa4j.bench.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mqa4j.bench.compare.Sizes;
import io.mqa4j.bench.profile.KvProfile;
import io.mqa4j.bench.profile.ModelConfig;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvType;
import io.mqa4j.core.PagedKvCache;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code mqa profile}: arithmetic on presets and config files, JSON shape, chart, errors. */
class ProfileCommandTest {

  @TempDir
  Path dir;

  private JsonNode profile(String... args) throws IOException {
    String[] all = new String[args.length + 3];
    all[0] = "profile";
    System.arraycopy(args, 0, all, 1, args.length);
    all[args.length + 1] = "--json";
    all[args.length + 2] = "--no-files";
    CliRun run = CliRun.of(all);
    assertEquals(0, run.exitCode(), run.err());
    return new ObjectMapper().readTree(run.out());
  }

  @Test
  void llama2At4096TokensIsTwoGibPerSequence() throws IOException {
    // 2 (K, V) x 32 layers x 32 KV heads x 128 x 2 bytes = 512 KiB per token.
    JsonNode r = profile("--model", "llama-2-7b", "--context", "4096");
    assertEquals(512 * 1024, r.get("bytesPerToken").asLong());
    assertEquals(4096L * 512 * 1024, r.get("bytesPerSequence").asLong());
    assertEquals(4096L * 512 * 1024, r.get("allocatedBytes").asLong());
    assertEquals(0, r.get("wasteBytes").asLong());
    assertEquals(4096L * 512 * 1024, r.get("decodeBytesReadPerToken").asLong());
    JsonNode variants = r.get("variants");
    assertEquals("configured", variants.get(0).get("layout").asText());
    assertEquals(32, variants.get(1).get("kvHeads").asInt(), "MHA");
    assertEquals(8, variants.get(2).get("kvHeads").asInt(), "GQA with 8 KV heads");
    assertEquals(1, variants.get(3).get("kvHeads").asInt(), "MQA");
    assertEquals(16 * 1024, variants.get(3).get("bytesPerToken").asLong(), "MQA: 32x less");
    // 24 GiB / 512 KiB = 49152 tokens, a multiple of the 16-token block.
    assertEquals(49152, variants.get(1).get("fitsContext24GiB").asLong());
  }

  @Test
  void partlyFilledBlocksAreWasteAndRanksSplitHeads() throws IOException {
    // llama-3-8b: 32 layers x 8 KV heads x 128 x 2 bytes x 2 = 128 KiB per token; 1000 tokens in
    // blocks of 16 take 63 blocks = 1008 tokens, 8 of them empty, per sequence.
    JsonNode r = profile("--model", "llama-3-8b", "--context", "1000", "--batch", "3",
        "--tensor-parallel", "4");
    long perToken = 128 * 1024;
    assertEquals(1000 * perToken, r.get("bytesPerSequence").asLong());
    assertEquals(3 * 1008 * perToken, r.get("allocatedBytes").asLong());
    assertEquals(3 * 8 * perToken, r.get("wasteBytes").asLong());
    assertEquals(3 * 1008 * perToken / 4, r.get("bytesPerRank").asLong(), "2 of 8 KV heads per rank");
    JsonNode mqa = r.get("variants").get(3);
    assertEquals(1, mqa.get("kvHeadsPerRank").asInt());
    assertEquals(4, mqa.get("replication").asInt(), "one KV head is replicated on every rank");
    assertEquals(mqa.get("allocatedBytes").asLong(), mqa.get("bytesPerRank").asLong());
  }

  @Test
  void figuresAgreeWithALivePagedCache() throws IOException {
    // One layer of starcoder-like MQA at 1000 tokens, from the profile and from a real cache.
    JsonNode r = profile("--model", "starcoder", "--context", "1000", "--dtype", "q8_0");
    try (PagedKvCache cache = PagedKvCache.builder(1, 128).type(KvType.Q8_0).blockTokens(16)
        .capacityTokens(1000).build()) {
      KvSequence s = cache.newSequence();
      cache.append(s, 1000, new float[1000 * 128], 0, new float[1000 * 128], 0);
      assertEquals(40 * cache.usedBytes(), r.get("allocatedBytes").asLong(), "40 layers");
      assertEquals(40 * cache.wasteBytes(), r.get("wasteBytes").asLong());
      assertEquals(40 * cache.decodeBytesRead(s), r.get("decodeBytesReadPerToken").asLong());
    }
  }

  @Test
  void llama32ThreeBillionHasGroupsOfThree() throws IOException {
    // 2 (K, V) x 28 layers x 8 KV heads x 128 x 2 bytes = 112 KiB per token; its MHA variant
    // (24 KV heads) three times that, its MQA variant an eighth.
    JsonNode r = profile("--model", "llama-3.2-3b", "--context", "131072");
    assertEquals("GQA (as configured)", r.get("variants").get(0).get("label").asText());
    assertEquals(112 * 1024, r.get("bytesPerToken").asLong());
    assertEquals(131072L * 112 * 1024, r.get("bytesPerSequence").asLong(), "14 GiB");
    JsonNode variants = r.get("variants");
    assertEquals(24, variants.get(1).get("kvHeads").asInt(), "MHA");
    assertEquals(3 * 112 * 1024, variants.get(1).get("bytesPerToken").asLong());
    assertEquals(14 * 1024, variants.get(3).get("bytesPerToken").asLong(), "MQA");
    // 16 layers x 8 KV heads x 64 x 2 bytes x 2 = 32 KiB per token.
    assertEquals(32 * 1024, profile("--model", "llama-3.2-1b", "--context", "16").get("bytesPerToken").asLong());
  }

  @Test
  void slidingWindowLayersKeepOnlyTheirWindow() throws IOException {
    // gpt-oss-20b: 12 full layers and 12 with a 128-token window; 8 KV heads of 64 in bf16 cost
    // 2 x 8 x 64 x 2 = 2 KiB per layer per token.
    JsonNode r = profile("--model", "gpt-oss-20b", "--context", "4096");
    long layerToken = 2048;
    assertEquals(12 * 4096 * layerToken + 12 * 128 * layerToken, r.get("bytesPerSequence").asLong());
    assertEquals(24 * layerToken, r.get("bytesPerToken").asLong());
  }

  @Test
  void mistralV03KeepsEveryTokenWhereV01KeepsItsWindow() throws IOException {
    // 32 layers x 8 KV heads x 128 x 2 bytes x 2 = 128 KiB per token for both.
    long token = 128 * 1024;
    JsonNode v01 = profile("--model", "mistral-7b", "--context", "8192");
    JsonNode v03 = profile("--model", "mistral-7b-v0.3", "--context", "8192");
    assertEquals(token, v03.get("bytesPerToken").asLong());
    assertEquals(8192 * token, v03.get("bytesPerSequence").asLong());
    assertEquals(4096 * token, v01.get("bytesPerSequence").asLong());
    // Qwen2.5 7B: 28 layers x 4 KV heads x 128 x 2 bytes x 2 = 56 KiB per token.
    assertEquals(56 * 1024, profile("--model", "qwen2.5-7b", "--context", "16").get("bytesPerToken").asLong());
  }

  /**
   * Qwen/Qwen2.5-7B's config.json gives max_position_embeddings 131072 (its Instruct sibling's
   * gives 32768): the preset's default context is the base model's.
   */
  @Test
  void qwen25PresetProfilesTheBaseModelsContext() throws IOException {
    JsonNode r = profile("--model", "qwen2.5-7b");
    assertEquals(131072, r.get("context").asInt(), r.toString());
    assertEquals(131072L * 56 * 1024, r.get("bytesPerSequence").asLong());
  }

  @Test
  void oneOfAThingIsNotPlural() throws IOException {
    Path config = Files.writeString(dir.resolve("config.json"), "{\"num_attention_heads\": 1, "
        + "\"num_hidden_layers\": 1, \"head_dim\": 8, \"sliding_window\": 16}");
    CliRun run = CliRun.of("profile", "--no-files", "--config", config.toString());
    assertEquals(0, run.exitCode(), run.err());
    assertTrue(run.out().contains(": 1 attention layer, 1 query head, 1 KV head, head dim 8, sliding window 16 "
        + "on 1 layer; KV"), run.out());
  }

  @Test
  void readsHuggingFaceConfigs() throws IOException {
    JsonNode mistral = profile("--config", "src/test/resources/profile/mistral-config.json", "--context", "8192");
    assertEquals("mistralai/Mistral-7B-v0.1", mistral.get("model").asText());
    assertEquals(8, mistral.get("kvHeads").asInt());
    assertEquals(128, mistral.get("headDim").asInt());
    assertEquals("bf16", mistral.get("dtype").asText());
    assertEquals(32 * 4096L * 2 * 8 * 128 * 2, mistral.get("bytesPerSequence").asLong(), "window of 4096 on every layer");
    JsonNode falcon = profile("--config", "src/test/resources/profile/falcon-config.json");
    assertEquals(1, falcon.get("kvHeads").asInt(), "multi_query");
    assertEquals(64, falcon.get("headDim").asInt(), "hidden_size / heads");
    assertEquals(2048, falcon.get("context").asInt(), "no max_position_embeddings: Falcon's 2048");
    assertEquals(3, falcon.get("variants").size(), "71 heads: no grouped variant");
  }

  @Test
  void readsChatGlmGroups() throws IOException {
    // THUDM/chatglm3-6b's fields: two KV heads given as multi-query groups, head dim as kv_channels.
    Path glm = Files.writeString(dir.resolve("glm.json"), "{\"model_type\": \"chatglm\", "
        + "\"num_layers\": 28, \"num_attention_heads\": 32, \"hidden_size\": 4096, "
        + "\"kv_channels\": 128, \"multi_query_attention\": true, \"multi_query_group_num\": 2, "
        + "\"seq_length\": 8192, \"torch_dtype\": \"float16\"}");
    JsonNode p = profile("--config", glm.toString());
    assertEquals(2, p.get("kvHeads").asInt());
    assertEquals(128, p.get("headDim").asInt());
    assertEquals(28, p.get("layers").asInt());
    assertEquals(8192, p.get("context").asInt());
    assertEquals(28 * 2 * 2 * 128 * 2L, p.get("bytesPerToken").asLong(), "28 KiB a token");
    Path missing = Files.writeString(dir.resolve("glm2.json"), "{\"num_layers\": 2, "
        + "\"num_attention_heads\": 4, \"kv_channels\": 8, \"multi_query_attention\": true}");
    CliRun run = CliRun.of("profile", "--no-files", "--config", missing.toString());
    assertEquals(2, run.exitCode(), run.err());
    assertTrue(run.err().contains("multi_query_attention is true but multi_query_group_num is missing"),
        run.err());
  }

  @Test
  void readsFalconsNewDecoderTheNewerDtypeFieldAndDefaults() throws IOException {
    // Falcon-40B's config keeps multi_query true beside num_kv_heads 8; the new decoder uses 8.
    Path falcon40 = Files.writeString(dir.resolve("f40.json"), "{\"model_type\": \"falcon\", "
        + "\"hidden_size\": 8192, \"num_attention_heads\": 128, \"num_hidden_layers\": 60, "
        + "\"num_kv_heads\": 8, \"multi_query\": true, \"new_decoder_architecture\": true, "
        + "\"torch_dtype\": \"bfloat16\"}");
    JsonNode f40 = profile("--config", falcon40.toString());
    assertEquals(8, f40.get("kvHeads").asInt());
    assertEquals(2048, f40.get("context").asInt());
    Path dtype = Files.writeString(dir.resolve("dtype.json"), "{\"num_attention_heads\": 4, "
        + "\"num_hidden_layers\": 2, \"head_dim\": 8, \"dtype\": \"bfloat16\"}");
    JsonNode named = profile("--config", dtype.toString());
    assertEquals("bf16", named.get("dtype").asText(), "the newer dtype field");
    assertEquals(4096, named.get("context").asInt(), "no max_position_embeddings, not Falcon: 4096");
    Path none = Files.writeString(dir.resolve("none.json"), "{\"num_attention_heads\": 4, "
        + "\"num_hidden_layers\": 2, \"head_dim\": 8}");
    assertEquals("f16", profile("--config", none.toString()).get("dtype").asText(), "as --help says");
  }

  @Test
  void nanAndInfinityInFieldsNotReadAreAcceptedAsPythonWritesThem() throws IOException {
    // json.dump writes a float attribute of nan or inf this way, and transformers reads it back.
    Path config = Files.writeString(dir.resolve("config.json"), "{\"num_attention_heads\": 4, "
        + "\"num_hidden_layers\": 2, \"head_dim\": 8, \"rope_theta\": Infinity, "
        + "\"attention_dropout\": NaN, \"initializer_range\": -Infinity}");
    assertEquals(2, profile("--config", config.toString()).get("layers").asInt());
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(delimiter = '|', value = {
      "{\"num_hidden_layers\": 2, \"hidden_size\": 64}|config lacks num_attention_heads",
      "{\"num_attention_heads\": 4, \"hidden_size\": 64}|config lacks num_hidden_layers",
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2}|neither head_dim nor hidden_size",
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"hidden_size\": 66}|hidden_size=66 is not a multiple",
      "{\"num_attention_heads\": 4, \"num_key_value_heads\": 3, \"num_hidden_layers\": 2, \"head_dim\": 8}|num_key_value_heads=3 must divide",
      "{\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"multi_query\": true, \"num_hidden_layers\": 2, \"head_dim\": 8}|multi_query is true but num_key_value_heads is 2",
      "{\"num_attention_heads\": \"four\", \"num_hidden_layers\": 2, \"head_dim\": 8}|num_attention_heads must be an integer",
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"head_dim\": 8, \"torch_dtype\": \"int8\"}|torch_dtype must be",
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"head_dim\": 8, \"dtype\": \"int8\"}|dtype must be float32, float16 or bfloat16, got 'int8'",
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"head_dim\": 8, \"sliding_window\": 4096.7}|sliding_window must be a positive integer, got 4096.7",
      "[1, 2]|config must be a JSON object",
      "{not json|not JSON",
      // Python's json.load reads NaN and Infinity; a field that needs an integer still names itself.
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": NaN, \"head_dim\": 8}|num_hidden_layers must be an integer, got NaN",
      // ... but only the three spellings it writes: Jackson reads +INF, -INF and +Infinity too,
      // which json.load (and so transformers) refuses.
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"head_dim\": 8, \"rope_theta\": +INF}|not JSON: +INF at line 1, column 81: Python's json.load reads only NaN, Infinity and -Infinity",
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"head_dim\": 8, \"rope_theta\": -INF}|not JSON: -INF at line 1",
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"head_dim\": 8, \"rope_theta\": +Infinity}|not JSON: +Infinity at line 1",
      // Fields are named as the file names them, not as a derived value or a default's option.
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"head_dim\": 8, \"max_position_embeddings\": -1}|max_position_embeddings must be positive, got -1",
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"head_dim\": 8, \"max_position_embeddings\": 0}|max_position_embeddings must be positive, got 0",
      "{\"n_head\": 4, \"n_layer\": 2, \"n_embd\": 32, \"n_positions\": 0}|n_positions must be positive, got 0",
      "{\"n_head\": 0, \"n_layer\": 2, \"n_embd\": 64}|n_head must be positive, got 0",
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"hidden_size\": -64}|hidden_size must be positive, got -64",
      "{\"num_attention_heads\": 4, \"num_kv_heads\": 0, \"num_hidden_layers\": 2, \"head_dim\": 8}|num_kv_heads must be positive, got 0",
      "{\"num_attention_heads\": 4, \"num_kv_heads\": 3, \"num_hidden_layers\": 2, \"head_dim\": 8}|num_kv_heads=3 must divide num_attention_heads=4",
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 3000000000, \"head_dim\": 8}|num_hidden_layers=3000000000 is more than 2147483647",
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"head_dim\": 8, \"multi_query\": \"yes\"}|multi_query must be true or false, got \"yes\"",
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"head_dim\": 8, \"sliding_window\": 16, \"use_sliding_window\": \"no\"}|use_sliding_window must be true or false, got \"no\"",
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"head_dim\": 8, \"sliding_window\": 16, \"layer_types\": \"sliding\"}|layer_types must be a list of layer kinds, got \"sliding\"",
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"head_dim\": 8, \"sliding_window\": 16, \"layer_types\": [1, 2]}|layer_types must hold strings, got 1",
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"head_dim\": 8, \"sliding_window\": 16, \"model_type\": 5}|model_type must be a string, got 5"})
  void badConfigsNameTheField(String json, String message) throws IOException {
    Path config = Files.writeString(dir.resolve("config.json"), json);
    CliRun run = CliRun.of("profile", "--config", config.toString(), "--no-files");
    assertEquals(2, run.exitCode(), run.err());
    assertTrue(run.oneErrorLine(), run.err());
    assertTrue(run.err().contains(message), run.err());
    assertTrue(run.err().contains("--config " + config), run.err());
    assertFalse(run.err().contains("--context"), run.err());
    assertEquals("", run.out());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "--model gpt-5|--model 'gpt-5' is not a preset",
      "--model llama-2-7b --context 0|--context must be >= 1, got 0",
      "--model llama-2-7b --batch -1|--batch must be >= 1, got -1",
      "--model llama-2-7b --tensor-parallel 0|--tensor-parallel must be >= 1, got 0",
      "--model llama-2-7b --block-size 0|--block-tokens must be >= 1, got 0",
      "--model llama-2-7b --block-tokens 0|--block-tokens must be >= 1, got 0",
      "--model llama-2-7b --dtype f8|unknown KV type 'f8'",
      "--model llama-2-7b --config x.json|mutually exclusive",
      "--context 5|give --model NAME, --config FILE or --list",
      "--config missing.json|--config missing.json: no such file",
      "--config src/test/resources|--config src/test/resources: a directory, not a file"})
  void badOptionsExitTwo(String options, String message) {
    CliRun run = CliRun.of(("profile --no-files " + options).split(" "));
    assertEquals(2, run.exitCode(), run.err());
    assertTrue(run.oneErrorLine(), run.err());
    assertTrue(run.err().contains(message), run.err());
  }

  @Test
  void listShowsEveryPreset() {
    CliRun run = CliRun.of("profile", "--list");
    assertEquals(0, run.exitCode());
    for (String model : new String[] {"llama-2-7b", "llama-2-70b", "llama-3-8b", "llama-3-70b",
        "llama-3.2-1b", "llama-3.2-3b", "mistral-7b", "mistral-7b-v0.3",
        "qwen2.5-7b", "falcon-7b", "falcon-40b", "starcoder", "gemma-2-9b", "gpt-oss-20b"}) {
      assertTrue(run.out().contains(model), model);
    }
  }

  @Test
  void ranksMustSplitTheQueryHeadsEvenly() {
    // Falcon-7B's one KV head would replicate on any number of ranks, but its 71 query heads split
    // evenly only on 1 or 71.
    Path out = dir.resolve("p");
    assertRefused(CliRun.of("profile", "--model", "falcon-7b", "--tensor-parallel", "2147483647",
        "--out", out.toString()), "--tensor-parallel 2147483647 must divide the 71 query heads of falcon-7b");
    assertRefused(CliRun.of("profile", "--model", "falcon-7b", "--tensor-parallel", "4", "--json"),
        "--tensor-parallel 4 must divide the 71 query heads of falcon-7b");
    assertFalse(Files.exists(out), "no files");
  }

  @Test
  void writesTheChartAndJson() throws IOException {
    Path out = dir.resolve("p");
    CliRun run = CliRun.of("profile", "--model", "falcon-40b", "--batch", "4", "--tensor-parallel", "8",
        "--out", out.toString());
    assertEquals(0, run.exitCode(), run.err());
    assertTrue(run.out().contains("MHA") && run.out().contains("fits 80 GiB"), run.out());
    byte[] png = Files.readAllBytes(out.resolve("kv-memory.png"));
    assertTrue(png.length > 5000);
    assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
    assertEquals("falcon-40b", new ObjectMapper().readTree(out.resolve("profile.json").toFile()).get("model").asText());
    assertFalse(Files.exists(dir.resolve("mqa-profile")));
  }

  private static void assertRefused(CliRun run, String... parts) {
    assertEquals(2, run.exitCode(), run.err());
    assertTrue(run.oneErrorLine(), run.err());
    for (String part : parts) {
      assertTrue(run.err().contains(part), run.err());
    }
    assertEquals("", run.out(), "nothing printed as results");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "--model llama-3-8b --tensor-parallel 3|--tensor-parallel 3 must divide the 8 KV heads of llama-3-8b",
      "--model llama-3-8b --tensor-parallel 3 --json|--tensor-parallel 3 must divide the 8 KV heads of llama-3-8b",
      "--model llama-3-8b --tensor-parallel 12|--tensor-parallel 12 must divide the 8 KV heads of llama-3-8b",
      "--model llama-2-7b --tensor-parallel 6|--tensor-parallel 6 must divide the 32 KV heads of llama-2-7b"})
  void tensorParallelIsCheckedBeforeAnythingIsPrintedOrWritten(String options, String message) {
    Path out = dir.resolve("p");
    assertRefused(CliRun.of(("profile --out " + out + " " + options).split(" ")), message);
    assertFalse(Files.exists(out), "no files");
  }

  @Test
  void tensorParallelThatSplitsOnlySomeVariantsEvenlyStillCharts() throws IOException {
    // starcoder's one KV head is replicated on 6 ranks; its GQA variant's 8 heads split 2 on the
    // fullest rank, which is no model of its own but still a line on the chart.
    Path out = dir.resolve("p");
    CliRun run = CliRun.of("profile", "--model", "starcoder", "--tensor-parallel", "6", "--out", out.toString());
    assertEquals(0, run.exitCode(), run.err());
    assertTrue(Files.size(out.resolve("kv-memory.png")) > 5000);
    JsonNode variants = new ObjectMapper().readTree(out.resolve("profile.json").toFile()).get("variants");
    assertEquals("gqa", variants.get(2).get("layout").asText());
    assertEquals(8, variants.get(2).get("kvHeads").asInt());
    assertEquals(2, variants.get(2).get("kvHeadsPerRank").asInt());
    assertEquals(8, variants.get(1).get("kvHeadsPerRank").asInt(), "MHA: 48 heads over 6 ranks");
    // 16 ranks over llama-3-8b's 8 KV heads: each head on two ranks.
    JsonNode r = profile("--model", "llama-3-8b", "--tensor-parallel", "16");
    assertEquals(2, r.get("variants").get(0).get("replication").asInt());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "--model llama-3-70b --batch 2147483647 --context 2147483647|--batch 2147483647 x --context 2147483647",
      "--model llama-3-70b --batch 2147483647 --context 2147483647 --json|more than 8 EiB",
      "--model llama-3.2-1b --batch 600000000|--batch 600000000 x context 131072 (max_position_embeddings of llama-3.2-1b) on llama-3.2-1b (16 attention layers, head dim 64, bf16, blocks of 16 tokens) with the 32 KV heads of its MHA variant",
      "--model llama-2-7b --context 1 --block-size 2147483647 --batch 100000|--block-tokens 2147483647"})
  void byteCountsBeyondALongAreRefused(String options, String message) {
    Path out = dir.resolve("p");
    assertRefused(CliRun.of(("profile --out " + out + " " + options).split(" ")), message, "more than 8 EiB");
    assertFalse(Files.exists(out), "no files");
  }

  @Test
  void fitsNeverCountsMoreTokensThanFit() throws IOException {
    // 2e9 layers x 4 KiB per layer and token: 7.45 TiB per token, so no token fits either device.
    Path config = Files.writeString(dir.resolve("config.json"), "{\"num_attention_heads\": 8, "
        + "\"num_key_value_heads\": 8, \"num_hidden_layers\": 2000000000, \"head_dim\": 128, "
        + "\"max_position_embeddings\": 1}");
    JsonNode r = profile("--config", config.toString());
    for (JsonNode v : r.get("variants")) {
      assertEquals(0, v.get("fitsContext24GiB").asLong(), v.toString());
      assertEquals(0, v.get("fitsContext80GiB").asLong(), v.toString());
    }
    // A huge batch of a small model: what fits must really fit, and one token more must not.
    JsonNode big = profile("--model", "llama-3.2-1b", "--context", "16", "--batch", "2000000000");
    assertEquals(0, big.get("variants").get(0).get("fitsContext24GiB").asLong());
    JsonNode some = profile("--model", "llama-3.2-1b", "--context", "16", "--batch", "1000");
    long fits = some.get("variants").get(0).get("fitsContext80GiB").asLong();
    long perToken = 32 * 1024;
    assertTrue(1000 * ((fits + 15) / 16 * 16) * perToken <= (80L << 30), "fits");
    assertTrue(1000 * ((fits + 16) / 16 * 16) * perToken > (80L << 30), "one block more does not");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "--list --context -5 --batch 0|--list takes no other option: --context -5, --batch 0",
      "--list --json|--list takes no other option: --json",
      "--list --dtype q8_0 --no-files|--list takes no other option: --dtype q8_0, --no-files",
      "--list --out x --tensor-parallel 2 --block-size 8|--out x, --tensor-parallel 2, --block-tokens 8"})
  void listRefusesOptionsItIgnores(String options, String message) {
    assertRefused(CliRun.of(("profile " + options).split(" ")), message);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"/proc/mqa-out", "/sys/mqa-out"})
  void anUnwritableOutIsNamedWithItsReasonAndNothingIsPrinted(String out) {
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(Path.of(out).getParent()));
    CliRun run = CliRun.of("profile", "--model", "llama-3-8b", "--out", out);
    assertRefused(run, "mqa profile: --out " + out + ": ");
    assertTrue(run.err().strip().length() > ("mqa profile: --out " + out + ": ").length(), "a reason: " + run.err());
    assertRefused(CliRun.of("profile", "--model", "llama-3-8b", "--json", "--out", out), "--out " + out);
  }

  @Test
  void outBesideNoFilesOrEmptyIsRefused() {
    assertRefused(CliRun.of("profile", "--model", "llama-3-8b", "--no-files", "--out",
        dir.resolve("x").toString()), "--out " + dir.resolve("x") + " has no effect with --no-files");
    assertRefused(CliRun.of("profile", "--model", "llama-3-8b", "--out", ""),
        "--out must name a directory, got an empty path");
    assertFalse(Files.exists(dir.resolve("x")));
  }

  @Test
  void aFailedWriteLeavesNoFilesBehind() throws IOException {
    // Below a regular file: no directory can be made there.
    Path file = Files.writeString(dir.resolve("file"), "x");
    CliRun run = CliRun.of("profile", "--model", "llama-3-8b", "--out", file.resolve("sub").toString());
    assertRefused(run, "--out " + file.resolve("sub") + ": " + file + " is not a directory");
    // The chart's name is taken by a directory: profile.json must not stay behind either.
    Path out = Files.createDirectories(dir.resolve("p").resolve("kv-memory.png"));
    Files.writeString(out.resolve("keep"), "x");
    assertRefused(CliRun.of("profile", "--model", "llama-3-8b", "--out", dir.resolve("p").toString()),
        "--out " + dir.resolve("p") + ": cannot write kv-memory.png, a directory of that name is there");
    assertFalse(Files.exists(dir.resolve("p").resolve("profile.json")));
    try (var files = Files.list(dir.resolve("p"))) {
      assertEquals(1, files.count(), "no temporary files either");
    }
  }

  private static ModelConfig parse(String json) throws IOException {
    return ModelConfig.fromHuggingFace("m", new ObjectMapper().readTree(json));
  }

  @Test
  void gemma3SlidesOnAllButEverySixthLayer() throws IOException {
    // google/gemma-3-1b-it: 26 layers, sliding_window 512, sliding_window_pattern 6: layers 5,
    // 11, 17 and 23 are global, 22 slide. One KV head of 256 in bf16: 1 KiB per layer and token.
    String config = "{\"model_type\": \"gemma3_text\", \"head_dim\": 256, \"hidden_size\": 1152, "
        + "\"max_position_embeddings\": 32768, \"num_attention_heads\": 4, "
        + "\"num_hidden_layers\": 26, \"num_key_value_heads\": 1, \"sliding_window\": 512, "
        + "%s\"torch_dtype\": \"bfloat16\"}";
    ModelConfig m = parse(String.format(config, "\"sliding_window_pattern\": 6, "));
    assertEquals(22, m.slidingLayers());
    KvProfile.Result r = KvProfile.of(m, KvType.BF16, 32768, 1, 16, 1);
    assertEquals((4L * 32768 + 22L * 512) * 1024, r.bytesPerSequence());
    // Without the field, Gemma 3 takes transformers' default pattern of 6.
    assertEquals(22, parse(String.format(config, "")).slidingLayers());
  }

  @Test
  void multimodalConfigsAreReadFromTheirTextConfig() throws IOException {
    // google/gemma-3-4b-it: the text model gives only what differs from Gemma3TextConfig's
    // defaults (8 heads, 4 KV heads of 256); 34 layers, window 1024, every sixth layer global.
    ModelConfig gemma = parse("{\"architectures\": [\"Gemma3ForConditionalGeneration\"], "
        + "\"model_type\": \"gemma3\", \"torch_dtype\": \"bfloat16\", \"text_config\": {"
        + "\"hidden_size\": 2560, \"model_type\": \"gemma3_text\", \"num_hidden_layers\": 34, "
        + "\"sliding_window\": 1024}, \"vision_config\": {\"num_attention_heads\": 16}}");
    assertEquals(34, gemma.layers());
    assertEquals(8, gemma.queryHeads());
    assertEquals(4, gemma.kvHeads());
    assertEquals(256, gemma.headDim());
    assertEquals(1024, gemma.slidingWindow());
    assertEquals(34 - 34 / 6, gemma.slidingLayers());
    assertEquals(131_072, gemma.maxContext());
    assertEquals(KvType.BF16, gemma.dtype());
    // Another model's text_config gives its own fields and takes no Gemma defaults.
    ModelConfig llava = parse("{\"model_type\": \"llava\", \"text_config\": {"
        + "\"model_type\": \"mistral\", \"num_attention_heads\": 32, \"num_key_value_heads\": 8, "
        + "\"hidden_size\": 4096, \"num_hidden_layers\": 32, \"torch_dtype\": \"float16\"}}");
    assertEquals(32, llava.queryHeads());
    assertEquals(8, llava.kvHeads());
    assertEquals(128, llava.headDim());
    // Llama 4's text model attends in chunks on most layers: refused, not counted as full.
    IllegalArgumentException chunked = assertThrows(IllegalArgumentException.class,
        () -> parse("{\"model_type\": \"llama4\", \"text_config\": {\"attention_chunk_size\": "
            + "8192, \"num_attention_heads\": 40, \"num_key_value_heads\": 8, \"head_dim\": 128, "
            + "\"num_hidden_layers\": 48}}"));
    assertTrue(chunked.getMessage().contains("attention_chunk_size"), chunked.getMessage());
    IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
        () -> parse("{\"model_type\": \"llava\", \"text_config\": {\"model_type\": \"x\"}}"));
    assertTrue(none.getMessage().contains("num_attention_heads"), none.getMessage());
  }

  @Test
  void aConfigNameThatIsNotTextGivesWayToTheFileName() throws IOException {
    Path file = dir.resolve("odd-config.json");
    Files.writeString(file, "{\"num_attention_heads\": 32, \"num_hidden_layers\": 32, "
        + "\"hidden_size\": 4096, \"_name_or_path\": {\"x\": 1}}");
    CliRun run = CliRun.of("profile", "--no-files", "--config", file.toString());
    assertEquals(0, run.exitCode(), run.err());
    assertTrue(run.out().startsWith("odd-config.json: 32 attention layers"), run.out());
  }

  @Test
  void linearAttentionLayersHoldNoKvCache() throws IOException {
    // Qwen3-Next: 48 layers, three of linear attention to one of full attention.
    StringBuilder types = new StringBuilder();
    for (int i = 0; i < 48; i++) {
      types.append(i == 0 ? "" : ",").append((i + 1) % 4 == 0 ? "\"full_attention\"" : "\"linear_attention\"");
    }
    ModelConfig m = parse("{\"model_type\": \"qwen3_next\", \"num_hidden_layers\": 48, "
        + "\"num_attention_heads\": 16, \"num_key_value_heads\": 2, \"head_dim\": 256, "
        + "\"max_position_embeddings\": 262144, \"torch_dtype\": \"bfloat16\", \"layer_types\": ["
        + types + "]}");
    assertEquals(12, m.layers());
    KvProfile.Result r = KvProfile.of(m, KvType.BF16, 262144, 1, 16, 1);
    assertEquals(12L * 262144 * 2 * 2 * 256 * 2, r.bytesPerSequence());
  }

  @Test
  void theHeaderCountsAttentionLayersAndNoWindowThatNoLayerUses() throws IOException {
    // A window in the config that layer_types gives to no layer: the profile counts none.
    Path config = dir.resolve("config.json");
    Files.writeString(config, "{\"num_hidden_layers\": 4, \"num_attention_heads\": 8, "
        + "\"num_key_value_heads\": 2, \"head_dim\": 64, \"max_position_embeddings\": 4096, "
        + "\"sliding_window\": 512, \"layer_types\": [\"full_attention\", \"linear_attention\", "
        + "\"full_attention\", \"linear_attention\"]}");
    CliRun run = CliRun.of("profile", "--config", config.toString(), "--no-files");
    assertEquals(0, run.exitCode(), run.err());
    assertTrue(run.out().startsWith("config.json: 2 attention layers, 8 query heads, 2 KV heads, "
        + "head dim 64; KV"), run.out());
    assertFalse(run.out().contains("sliding"), run.out());
  }

  @Test
  void refinedWebFalconReadsNHeadKv() throws IOException {
    // The original Falcon-40B config: n_head_kv 8 beside multi_query true.
    ModelConfig m = parse("{\"model_type\": \"RefinedWeb\", \"hidden_size\": 8192, \"n_head\": 128, "
        + "\"n_head_kv\": 8, \"n_layer\": 60, \"multi_query\": true, \"torch_dtype\": \"bfloat16\"}");
    assertEquals(8, m.kvHeads());
    assertEquals(64, m.headDim());
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(delimiter = '|', value = {
      "{\"num_attention_heads\": 128, \"num_hidden_layers\": 61, \"hidden_size\": 7168, \"kv_lora_rank\": 512}|kv_lora_rank is set: multi-head latent attention",
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"head_dim\": 8, \"layer_types\": [\"full_attention\", \"chunked_attention\"]}|layer_types holds 'chunked_attention'",
      "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"head_dim\": 8, \"layer_types\": [\"linear_attention\", \"mamba\"]}|layer_types names no attention layer"})
  void configsThisProfileCannotCountAreRefused(String json, String message) throws IOException {
    Path config = dir.resolve("config.json");
    Files.writeString(config, json);
    CliRun run = CliRun.of("profile", "--no-files", "--config", config.toString());
    assertEquals(2, run.exitCode(), run.err());
    assertTrue(run.oneErrorLine(), run.err());
    assertTrue(run.err().contains(message), run.err());
  }

  /**
   * Configs whose layers differ in what they cache: counting num_hidden_layers uniform layers of
   * num_key_value_heads would give Jamba (one attention layer in eight) eight times its cache,
   * Nemotron-NAS (per-layer head groups, some layers without attention) many times its cache, and
   * Llama 3.2 Vision its 8 cross-attention layers as text self-attention.
   */
  @ParameterizedTest(name = "{1}")
  @CsvSource(delimiter = '|', value = {
      "{\"model_type\": \"jamba\", \"num_attention_heads\": 32, \"num_key_value_heads\": 8, \"num_hidden_layers\": 32, \"hidden_size\": 4096, \"attn_layer_period\": 8, \"attn_layer_offset\": 4}|attn_layer_period is set",
      "{\"model_type\": \"bamba\", \"num_attention_heads\": 32, \"num_key_value_heads\": 8, \"num_hidden_layers\": 32, \"hidden_size\": 4096, \"attn_layer_indices\": [9, 18, 27]}|attn_layer_indices is set",
      "{\"model_type\": \"nemotron_h\", \"num_attention_heads\": 32, \"num_key_value_heads\": 8, \"num_hidden_layers\": 4, \"hidden_size\": 4096, \"hybrid_override_pattern\": \"M-*-\"}|hybrid_override_pattern is set",
      "{\"model_type\": \"nemotron-nas\", \"num_attention_heads\": 64, \"num_hidden_layers\": 2, \"hidden_size\": 8192, \"block_configs\": [{\"attention\": {\"n_heads_in_group\": 8}}, {\"attention\": {\"no_op\": true}}]}|block_configs is set",
      "{\"model_type\": \"deci\", \"num_attention_heads\": 32, \"num_hidden_layers\": 2, \"hidden_size\": 4096, \"num_key_value_heads_per_layer\": [4, 2]}|num_key_value_heads_per_layer is set",
      "{\"model_type\": \"mllama\", \"text_config\": {\"num_attention_heads\": 32, \"num_key_value_heads\": 8, \"num_hidden_layers\": 40, \"hidden_size\": 4096, \"cross_attention_layers\": [3, 8, 13, 18, 23, 28, 33, 38]}}|cross_attention_layers is set",
      "{\"model_type\": \"recurrent_gemma\", \"num_attention_heads\": 10, \"num_key_value_heads\": 1, \"num_hidden_layers\": 26, \"hidden_size\": 2560, \"attention_window_size\": 2048, \"_block_types\": [\"recurrent\", \"recurrent\", \"attention\"]}|_block_types is set",
      "{\"model_type\": \"gemma3n_text\", \"num_attention_heads\": 8, \"num_key_value_heads\": 2, \"num_hidden_layers\": 35, \"head_dim\": 256, \"num_kv_shared_layers\": 15}|num_kv_shared_layers is set",
      // Only a zero says no layer shares: NaN and a fraction are not read as one.
      "{\"num_attention_heads\": 8, \"num_hidden_layers\": 35, \"head_dim\": 256, \"num_kv_shared_layers\": NaN}|num_kv_shared_layers is set",
      "{\"num_attention_heads\": 8, \"num_hidden_layers\": 35, \"head_dim\": 256, \"num_kv_shared_layers\": 0.5}|num_kv_shared_layers is set"})
  void configsWhoseLayersDifferInWhatTheyCacheAreRefused(String json, String message)
      throws IOException {
    Path config = dir.resolve("config.json");
    Files.writeString(config, json);
    CliRun run = CliRun.of("profile", "--no-files", "--config", config.toString());
    assertEquals(2, run.exitCode(), run.out() + run.err());
    assertTrue(run.oneErrorLine(), run.err());
    assertTrue(run.err().contains(message), run.err());
  }

  /**
   * A Falcon-7B config saved by transformers carries num_kv_heads equal to num_attention_heads
   * (FalconConfig's default) beside multi_query: the old decoder then has one KV head.
   */
  @Test
  void aSavedFalcon7bConfigIsMultiQuery() throws IOException {
    ModelConfig m = parse("{\"model_type\": \"falcon\", \"num_attention_heads\": 71, "
        + "\"num_hidden_layers\": 32, \"hidden_size\": 4544, \"multi_query\": true, "
        + "\"new_decoder_architecture\": false, \"num_kv_heads\": 71}");
    assertEquals(1, m.kvHeads());
    assertEquals(64, m.headDim());
    assertThrows(IllegalArgumentException.class, () -> parse("{\"num_attention_heads\": 71, "
        + "\"num_hidden_layers\": 32, \"hidden_size\": 4544, \"multi_query\": true, "
        + "\"num_kv_heads\": 8}"));
  }

  /** The same fields, empty or zero, say nothing: such a config is read as before. */
  @Test
  void emptyPerLayerFieldsAreAbsent() throws IOException {
    ModelConfig m = parse("{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, "
        + "\"head_dim\": 8, \"cross_attention_layers\": [], \"num_kv_shared_layers\": 0, "
        + "\"attn_layer_indices\": null}");
    assertEquals(2, m.layers());
    assertEquals(4, m.kvHeads());
  }

  @Test
  void aSlidingLayerTakesTheBlocksItsWindowCanSpan() throws IOException {
    // One full layer and one sliding over 8 tokens, 2 KV heads of 32 in f32 (512 B a token),
    // blocks of 4, 21 tokens: the full layer takes 6 blocks; the window, tokens 13 to 20, spans
    // blocks 3 to 5, three blocks of 2048 B, though 8 tokens fill only two.
    ModelConfig m = new ModelConfig("t", 2, 4, 2, 32, 8, 1, 64, KvType.F32);
    KvProfile.Result r = KvProfile.of(m, KvType.F32, 21, 1, 4, 1);
    assertEquals((6 + 3) * 2048L, r.allocatedBytes());
    assertEquals((21 + 8) * 512L, r.bytesPerSequence());
    // Shorter than the window: the sliding layer holds what the full one does.
    assertEquals(2 * 2 * 2048L, KvProfile.of(m, KvType.F32, 7, 1, 4, 1).allocatedBytes());
    // The table says what the sliding figures assume, and what PagedKvCache needs to match them.
    CliRun run = CliRun.of("profile", "--no-files", "--model", "gpt-oss-20b");
    assertEquals(0, run.exitCode(), run.err());
    assertTrue(run.out().contains("frees each block once the window has passed it")
        && run.out().contains("PagedKvCache does when each step calls releaseBefore"), run.out());
  }

  @Test
  void aSizeJustUnderAUnitIsShownInTheNextUnit() {
    assertEquals("1.00 PiB", Sizes.bytes((1L << 50) - (1L << 19)));
    assertEquals("1.00 MiB", Sizes.bytes((1L << 20) - 1));
    assertEquals("100 KiB", Sizes.bytes(102_399));
    assertEquals("10.0 KiB", Sizes.bytes(10_239));
    assertEquals("1023 KiB", Sizes.bytes(1023L * 1024));
  }

  @Test
  void aConfigWithDataAfterItsObjectOrNotAFileIsRefused() throws IOException {
    Path config = dir.resolve("config.json");
    Files.writeString(config, "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"head_dim\": 8} {\"x\": 1}");
    CliRun run = CliRun.of("profile", "--no-files", "--config", config.toString());
    assertEquals(2, run.exitCode(), run.err());
    assertTrue(run.err().contains("not JSON"), run.err());
    CliRun devNull = CliRun.of("profile", "--no-files", "--config", "/dev/null");
    assertEquals(2, devNull.exitCode(), devNull.err());
    assertTrue(devNull.err().contains("/dev/null: not a regular file"), devNull.err());
  }

  /** transformers (Qwen2/Qwen3 configs): only layers i >= max_window_layers slide. */
  @Test
  void qwenSlidesOnlyFromMaxWindowLayers() throws IOException {
    ModelConfig m = parse("{\"model_type\": \"qwen2\", \"num_hidden_layers\": 28, "
        + "\"num_attention_heads\": 28, \"num_key_value_heads\": 4, \"hidden_size\": 3584, "
        + "\"sliding_window\": 4096, \"use_sliding_window\": true, \"max_window_layers\": 21}");
    assertEquals(7, m.slidingLayers());
  }

  /**
   * Qwen configs that leave out use_sliding_window do not slide (transformers' default for them
   * is false); other models with a sliding_window and no such field do.
   */
  @Test
  void qwenWithoutUseSlidingWindowDoesNotSlide() throws IOException {
    String heads = "\"num_hidden_layers\": 28, \"num_attention_heads\": 28, "
        + "\"num_key_value_heads\": 4, \"hidden_size\": 3584, \"sliding_window\": 4096";
    for (String qwen : List.of("qwen2", "qwen3", "qwen2_moe")) {
      ModelConfig m = parse("{\"model_type\": \"" + qwen + "\", " + heads
          + ", \"max_window_layers\": 21}");
      assertEquals(0, m.slidingWindow(), qwen);
      assertEquals(0, m.slidingLayers(), qwen);
    }
    ModelConfig mistral = parse("{\"model_type\": \"mistral\", " + heads + "}");
    assertEquals(4096, mistral.slidingWindow());
    assertEquals(28, mistral.slidingLayers());
  }

  /** Everywhere else a null field is an absent one. */
  @Test
  void aNullKvLoraRankIsAbsent() throws IOException {
    ModelConfig m = parse("{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, "
        + "\"head_dim\": 8, \"kv_lora_rank\": null}");
    assertEquals(4, m.kvHeads());
  }

  /** layer_types all full beside a sliding_window: no layer slides, and the note is left out. */
  @Test
  void noSlidingNoteWhenNoLayerSlides() throws IOException {
    Path config = dir.resolve("config.json");
    Files.writeString(config, "{\"num_attention_heads\": 4, \"num_hidden_layers\": 2, "
        + "\"head_dim\": 8, \"sliding_window\": 64, "
        + "\"layer_types\": [\"full_attention\", \"full_attention\"]}");
    CliRun run = CliRun.of("profile", "--no-files", "--config", config.toString());
    assertEquals(0, run.exitCode(), run.err());
    assertFalse(run.out().contains("sliding-window layers:"), run.out());
  }

  /** RefinedWeb configs (n_head_kv) have no max_position_embeddings: Falcon's 2048. */
  @Test
  void refinedWebTakesFalconsDefaultContext() throws IOException {
    ModelConfig m = parse("{\"model_type\": \"RefinedWeb\", \"hidden_size\": 8192, \"n_head\": 128, "
        + "\"n_head_kv\": 8, \"n_layer\": 60, \"torch_dtype\": \"bfloat16\"}");
    assertEquals(2048, m.maxContext());
  }

  /** Every unit boundary, either side. */
  @Test
  void sizesRoundAtEveryUnitBoundary() {
    assertEquals("1.00 MiB", Sizes.bytes(1_048_064)); // 1023.5 KiB
    assertEquals("1023 KiB", Sizes.bytes(1_047_961)); // 1023.4 KiB
    assertEquals("100 KiB", Sizes.bytes(102_349)); // 99.9502 KiB
    assertEquals("99.9 KiB", Sizes.bytes(102_348)); // 99.949 KiB
    assertEquals("10.0 KiB", Sizes.bytes(10_235)); // 9.9951 KiB
    assertEquals("9.99 KiB", Sizes.bytes(10_234)); // 9.994 KiB
    assertEquals("1023 B", Sizes.bytes(1023));
    assertEquals("1.00 KiB", Sizes.bytes(1024));
    assertEquals("1.00 GiB", Sizes.bytes((1L << 30) - 1));
  }
}
