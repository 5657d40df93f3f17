package io.mqa4j.bench.cli;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.mqa4j.bench.compare.ReportCharts;
import io.mqa4j.bench.compare.ReportFiles;
import io.mqa4j.bench.compare.Sizes;
import io.mqa4j.bench.compare.TextTable;
import io.mqa4j.bench.io.AtomicFiles;
import io.mqa4j.bench.profile.KvProfile;
import io.mqa4j.bench.profile.ModelConfig;
import io.mqa4j.core.KvType;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** KV-cache memory of real model configurations, and of their MHA, GQA and MQA variants. */
@Command(name = "profile", mixinStandardHelpOptions = true, versionProvider = Mqa.Version.class,
    sortOptions = false,
    description = {"KV-cache memory of a model: bytes per token and per sequence, whole blocks "
        + "allocated for a batch and the waste in them, bytes per tensor-parallel rank, bytes read "
        + "per decoded token, and the longest context that fits 24 and 80 GiB, for the model as "
        + "configured and for its MHA, GQA and MQA variants. Figures cover the KV cache only, "
        + "all layers, computed with the paged KV cache's own accounting."},
    footer = {"", "Examples:", "  ./mqa profile --list",
        "  ./mqa profile --model llama-3-8b --context 8192 --batch 16",
        "  ./mqa profile --config config.json --dtype q8_0 --tensor-parallel 8 --json"})
final class ProfileCommand implements Callable<Integer> {

  /** The files {@code --out} receives. */
  private static final List<String> FILES = List.of("profile.json", "kv-memory.png");

  @Spec
  CommandSpec spec;

  @ArgGroup(exclusive = true)
  Source source;

  static final class Source {
    @Option(names = "--model", paramLabel = "NAME", description = "A preset (see --list).")
    String model;

    @Option(names = "--config", paramLabel = "FILE", description = "A Hugging Face config.json.")
    Path config;

    @Option(names = "--list", description = "List the presets.")
    boolean list;
  }

  @Option(names = "--context", paramLabel = "N",
      description = "Tokens per sequence. Default: the model's max_position_embeddings (a config without one: 2048 for Falcon, else 4096).")
  Integer context;

  @Option(names = "--batch", defaultValue = "1", paramLabel = "B",
      description = "Sequences. Default: ${DEFAULT-VALUE}.")
  int batch;

  @Option(names = "--dtype", paramLabel = "TYPE",
      description = "KV element type: f32, f16, bf16 or q8_0. Default: the model's torch_dtype (or dtype; f16 for a config that names neither).")
  String dtype;

  @Option(names = {"--block-tokens", "--block-size"}, defaultValue = "16", paramLabel = "N",
      description = "Tokens per KV block, as in compare and share (--block-size is the same "
          + "option). Default: ${DEFAULT-VALUE}.")
  int blockSize;

  @Option(names = "--tensor-parallel", defaultValue = "1", paramLabel = "T",
      description = "Tensor-parallel ranks; they split the query heads evenly, and the KV heads "
          + "evenly or in copies. Default: ${DEFAULT-VALUE}.")
  int tensorParallel;

  @Option(names = "--json", description = "Print one JSON object instead of tables.")
  boolean json;

  @Option(names = "--out", paramLabel = "DIR", defaultValue = "mqa-profile",
      description = "Where to write kv-memory.png and profile.json. Default: ${DEFAULT-VALUE}.")
  Path out;

  @Option(names = "--no-files", description = "Write no files.")
  boolean noFiles;

  @Override
  public Integer call() throws IOException {
    PrintWriter stdout = spec.commandLine().getOut();
    if (source == null) {
      throw new BadInputException("give --model NAME, --config FILE or --list");
    }
    if (source.list) {
      refuseOptionsBesideList();
      list(stdout);
      return 0;
    }
    // Everything is checked and computed, the files' bytes included, before anything is printed
    // or written: a failure leaves no half of the output behind.
    GivenOptions.checkOut(spec, out, noFiles);
    ModelConfig model = model();
    KvType type = dtype == null ? model.dtype() : Kernels.kvType("--dtype", dtype);
    int tokens = context == null ? model.maxContext() : context;
    KvProfile.Result result;
    try {
      result = KvProfile.of(model, type, tokens, batch, blockSize, tensorParallel);
    } catch (KvProfile.TooLargeException e) {
      throw new BadInputException(tooLarge(model, type, tokens, e));
    }
    String text = json ? ReportFiles.json().writeValueAsString(result) : table(result);
    if (!noFiles) {
      ReportFiles.checkWritable(out, FILES);
      Map<String, byte[]> files = new LinkedHashMap<>();
      files.put("profile.json", ReportFiles.json().writeValueAsBytes(result));
      files.put("kv-memory.png", BitmapEncoder.getBitmapBytes(chart(model, type, result),
          BitmapEncoder.BitmapFormat.PNG));
      try {
        AtomicFiles.replaceAll(out, files, List.copyOf(files.keySet()));
      } catch (IOException e) {
        throw new BadInputException("--out " + out + ": " + e.getMessage());
      }
    }
    stdout.print(text);
    if (json) {
      stdout.println();
    } else if (!noFiles) {
      stdout.println("wrote " + out + "/: profile.json, kv-memory.png");
    }
    stdout.flush();
    return 0;
  }

  /** --list prints the presets and nothing else: an option beside it would be silently ignored. */
  private void refuseOptionsBesideList() {
    List<String> given = new ArrayList<>();
    for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
      if (o.longestName().equals("--list") || o.inherited() || o.usageHelp() || o.versionHelp()) {
        continue;
      }
      List<String> values = o.arity().max() == 0 ? List.of() : o.originalStringValues();
      given.add(o.longestName() + (values.isEmpty() ? "" : " " + String.join(" ", values)));
    }
    if (!given.isEmpty()) {
      throw new BadInputException("--list takes no other option: " + String.join(", ", given));
    }
  }

  /** Names every input of a byte count that does not fit a long. */
  private String tooLarge(ModelConfig model, KvType type, int tokens, KvProfile.TooLargeException e) {
    String modelName = source.config == null ? model.name() : "--config " + source.config
        + (model.name().equals(source.config.getFileName().toString()) ? "" : " (" + model.name() + ")");
    String contextText = context != null ? "--context " + context
        : "context " + tokens + " (" + (source.config != null ? "the max context of --config " + source.config
            : "max_position_embeddings of " + model.name()) + ")";
    String blocks = GivenOptions.given(spec, "--block-tokens")
        ? "--block-tokens " + blockSize : "blocks of " + blockSize + " tokens";
    String heads = e.variant().startsWith(model.layout() + " (") ? "with its " + e.kvHeads() + " KV heads"
        : "with the " + e.kvHeads() + " KV heads of its " + e.variant() + " variant";
    return "--batch " + batch + " x " + contextText + " on " + modelName + " (" + model.layers()
        + " attention layers, head dim " + model.headDim() + ", " + type.label() + ", " + blocks + ") " + heads
        + " is more than 8 EiB of KV cache, past what a byte count can hold";
  }

  private ModelConfig model() throws IOException {
    if (source.model != null) {
      ModelConfig m = ModelConfig.PRESETS.get(source.model.strip().toLowerCase(Locale.ROOT));
      if (m == null) {
        throw new BadInputException("--model '" + source.model + "' is not a preset; presets: "
            + String.join(", ", ModelConfig.PRESETS.keySet()) + " (or use --config)");
      }
      return m;
    }
    Path file = source.config;
    if (!Files.isRegularFile(file)) {
      throw new BadInputException("--config " + file + ": "
          + (Files.isDirectory(file) ? "a directory, not a file"
              : Files.exists(file) ? "not a regular file" : "no such file"));
    }
    JsonNode node;
    try {
      // One JSON value and nothing after it, as Python's json.load (and so transformers) reads,
      // and NaN and Infinity as numbers, as it reads them too: a config saved from Python may hold
      // them in fields this profile never reads, and a field it reads is checked by name.
      byte[] bytes;
      try {
        bytes = Files.readAllBytes(file);
      } catch (IOException e) {
        throw new BadInputException("--config " + file + ": cannot read: "
            + io.mqa4j.bench.io.AtomicFiles.reason(e));
      }
      ObjectReader reader = ReportFiles.json().reader()
          .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .with(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS);
      node = reader.readTree(bytes);
      refuseNonFiniteSpellingsPythonRefuses(reader, bytes, file);
    } catch (IOException e) {
      throw new BadInputException("--config " + file + ": not JSON: "
          + ReportFiles.jsonProblem(e.getMessage()));
    }
    try {
      // A config's own name when it gives one as text, else the file's.
      JsonNode given = node == null ? null : node.get("_name_or_path");
      String name = given != null && given.isTextual() && !given.asText().isBlank()
          ? given.asText() : file.getFileName().toString();
      return ModelConfig.fromHuggingFace(name, node);
    } catch (IllegalArgumentException e) {
      throw new BadInputException("--config " + file + ": " + e.getMessage());
    }
  }

  private static void list(PrintWriter out) {
    TextTable t = new TextTable("model", ">layers", ">query heads", ">KV heads", "layout", ">head dim",
        "sliding window", ">max context", "dtype");
    for (ModelConfig m : ModelConfig.PRESETS.values()) {
      t.add(m.name(), m.layers(), m.queryHeads(), m.kvHeads(), m.layout(), m.headDim(),
          m.slidingWindow() == 0 || m.slidingLayers() == 0 ? "-" : m.slidingWindow() + " on " + Words.count(m.slidingLayers(), "layer"),
          m.maxContext(), m.dtype().label());
    }
    out.print(t.toText());
    out.flush();
  }

  /**
   * Jackson, told to read NaN and Infinity, also reads +INF, -INF and
   * +Infinity, which Python's json.load refuses; so a config transformers cannot load would be
   * profiled. Only Python's three spellings pass.
   */
  private static void refuseNonFiniteSpellingsPythonRefuses(ObjectReader reader, byte[] bytes,
      Path file) throws IOException {
    try (JsonParser p = reader.createParser(bytes)) {
      for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
        if (t == JsonToken.VALUE_NUMBER_FLOAT && p.isNaN()
            && !List.of("NaN", "Infinity", "-Infinity").contains(p.getText())) {
          throw new BadInputException("--config " + file + ": not JSON: " + p.getText()
              + " at line " + p.currentTokenLocation().getLineNr() + ", column "
              + p.currentTokenLocation().getColumnNr()
              + ": Python's json.load reads only NaN, Infinity and -Infinity");
        }
      }
    }
  }

  private static String table(KvProfile.Result r) {
    StringWriter text = new StringWriter();
    PrintWriter out = new PrintWriter(text);
    out.printf("%s: %s, %s, %s, head dim %d%s; KV %s, context %d, batch %d, "
        + "blocks of %d tokens, tensor parallel %d%n%n", r.model(),
        Words.count(r.layers(), "attention layer"),
        Words.count(r.queryHeads(), "query head"), Words.count(r.kvHeads(), "KV head"),
        r.headDim(), r.slidingWindow() == 0 || r.slidingLayers() == 0 ? ""
            : ", sliding window " + r.slidingWindow() + " on " + Words.count(r.slidingLayers(), "layer"),
        r.dtype(), r.context(), r.batch(), r.blockTokens(), r.tensorParallel());
    TextTable t = new TextTable("variant", ">KV heads", ">per token", ">per sequence", ">allocated",
        ">waste", ">per rank", "KV heads per rank", ">read/token", ">fits 24 GiB", ">fits 80 GiB");
    for (KvProfile.Variant v : r.variants()) {
      t.add(v.label(), v.kvHeads(), Sizes.bytes(v.bytesPerToken()), Sizes.bytes(v.bytesPerSequence()),
          Sizes.bytes(v.allocatedBytes()), Sizes.bytes(v.wasteBytes()), Sizes.bytes(v.bytesPerRank()),
          v.kvHeadsPerRank() + (v.replication() > 1 ? " (each replicated x" + v.replication() + ")" : ""),
          Sizes.bytes(v.decodeBytesReadPerToken()), tokens(v.fitsContext24GiB()),
          tokens(v.fitsContext80GiB()));
    }
    out.print(t.toText());
    out.println();
    out.println("per token: K and V of one token over all layers; per sequence: what one sequence of "
        + "the context holds; allocated and waste: the batch in whole blocks; read/token: K and V "
        + "bytes one decode step of one sequence reads; fits: longest context whose batch fits on "
        + "one rank, KV only (weights and activations not counted).");
    if (r.slidingWindow() > 0 && r.slidingLayers() > 0) {
      out.println("sliding-window layers: counted as a cache that keeps a layer's last "
          + r.slidingWindow() + " tokens and frees each block once the window has passed it, as "
          + "serving engines do and mqa4j's PagedKvCache does when each step calls releaseBefore "
          + "(without it those layers hold the whole context). Their allocated blocks are the most "
          + "the window spans at any step, ceil((window - 1) / block) + 1; some steps hold one "
          + "fewer.");
    }
    out.flush();
    return text.toString();
  }

  private static String tokens(long n) {
    return n >= Integer.MAX_VALUE ? "any" : n + " tok";
  }

  /** KV memory of the batch against context for each variant, with lines at 24 and 80 GiB. */
  private XYChart chart(ModelConfig model, KvType type, KvProfile.Result r) {
    XYChart chart = ReportCharts.base("KV cache of " + r.model() + " (" + type.label() + ", batch "
        + r.batch() + ", all layers" + (r.tensorParallel() > 1 ? ", per rank of " + r.tensorParallel() : "")
        + ")", "context (tokens)", "KV cache (GiB)");
    List<Double> xs = new ArrayList<>();
    for (long c = 512; c <= Math.max(4L * r.context(), 131072); c *= 2) {
      xs.add((double) c);
    }
    double[] x = xs.stream().mapToDouble(Double::doubleValue).toArray();
    Color[] colors = {Color.BLACK, new Color(0xC0392B), new Color(0x2E86C1), new Color(0x27AE60)};
    int i = 0;
    for (KvProfile.Variant v : r.variants()) {
      if (!v.layout().equals("configured") && v.kvHeads() == r.kvHeads()) {
        continue; // the configured line already shows it
      }
      double[] y = new double[x.length];
      for (int k = 0; k < x.length; k++) { // what the fullest rank holds
        y[k] = KvProfile.allocatedGiBAt(model, type, r.blockTokens(), r.batch(), v.kvHeadsPerRank(), (long) x[k]);
      }
      XYSeries s = chart.addSeries(v.label() + ", " + v.kvHeads() + " KV heads: fits 24 GiB to "
          + tokens(v.fitsContext24GiB()) + ", 80 GiB to " + tokens(v.fitsContext80GiB()), x, y);
      s.setLineColor(colors[i % colors.length]);
      s.setMarkerColor(colors[i % colors.length]);
      s.setMarker(SeriesMarkers.CIRCLE);
      i++;
    }
    for (long gib : new long[] {24, 80}) {
      XYSeries line = chart.addSeries(gib + " GiB device", new double[] {x[0], x[x.length - 1]},
          new double[] {gib, gib});
      line.setLineColor(Color.GRAY);
      line.setMarker(SeriesMarkers.NONE);
      line.setLineStyle(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f,
          new float[] {5f, 5f}, 0f));
    }
    chart.getStyler().setXAxisLogarithmic(true).setYAxisLogarithmic(true);
    chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNW);
    return chart;
  }
}
