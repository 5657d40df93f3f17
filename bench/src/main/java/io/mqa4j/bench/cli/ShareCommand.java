package io.mqa4j.bench.cli;

import io.mqa4j.bench.compare.KvSource;
import io.mqa4j.bench.compare.ReportFiles;
import io.mqa4j.bench.roofline.DecodeShare;
import io.mqa4j.bench.roofline.ReadProbe;
import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvType;
import io.mqa4j.core.spi.Checks;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Decode's read rate as a share of the read bandwidth measured beside it, and caches side by side. */
@Command(name = "share", mixinStandardHelpOptions = true, versionProvider = Mqa.Version.class,
    description = {"Times decode over each KV cache and a read of memory in turn, round after "
        + "round in one JVM, and gives each cache's read rate as a share of the read bandwidth "
        + "measured around it, and its step time against the first cache's, round by round. "
        + "On a shared machine this is steadier than a share of a roofline taken once."},
    footer = {"", "Caches: 'contiguous' (f32, one block) or a type (f32, f16, bf16, q8_0) for a "
        + "paged cache of that type.", "", "Example:",
        "  ./mqa share --layout mha --context 16384 --caches contiguous,bf16,q8_0"})
final class ShareCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = "--layout", defaultValue = "mha", paramLabel = "LAYOUT",
      description = "mha, gqa or mqa. Default: ${DEFAULT-VALUE}.")
  String layout;

  @Mixin
  HeadOptions heads = new HeadOptions();

  @Option(names = "--context", defaultValue = "16384", paramLabel = "N",
      description = "Keys in every cache. Default: ${DEFAULT-VALUE}.")
  int context;

  @Option(names = "--caches", split = ",", defaultValue = "contiguous,bf16,q8_0", paramLabel = "CACHE",
      description = "Caches, the first the reference of the time ratios. Default: ${DEFAULT-VALUE}.")
  List<String> caches;

  @Option(names = "--block-tokens", defaultValue = "64", paramLabel = "N",
      description = "Tokens per block of the paged caches. Default: ${DEFAULT-VALUE}.")
  int blockTokens;

  @Option(names = "--kernel", defaultValue = "best", paramLabel = "KERNEL",
      description = "scalar, simd or best. Default: ${DEFAULT-VALUE}.")
  String kernel;

  @Option(names = "--threads", paramLabel = "N",
      description = "Threads of the SIMD kernel and of the read (the scalar kernel and its read use one). Default: every processor.")
  Integer threads;

  @Option(names = "--rounds", defaultValue = "9", paramLabel = "N",
      description = "Rounds, 1 to 1000; the figures are their medians. Default: ${DEFAULT-VALUE}.")
  int rounds;

  @Option(names = "--steps", defaultValue = "15", paramLabel = "N",
      description = "Decode steps per cache and round, 1 to 10000 (their median is the round's). Default: ${DEFAULT-VALUE}.")
  int steps;

  @Option(names = "--buffer-mib", defaultValue = "1024", paramLabel = "MIB",
      description = "Size of the buffer read, at least 64. Default: ${DEFAULT-VALUE}.")
  int bufferMib;

  @Option(names = "--json", description = "Print one JSON object instead of a table.")
  boolean json;

  // Bounds that keep a run finite and its per-round arrays small; far above any useful setting.
  static final int MAX_ROUNDS = 1000;
  static final int MAX_STEPS = 10_000;

  /** Decode steps per cache before timing: enough for the kernel's loops to be compiled. */
  private static final int WARMUP_STEPS = 30;

  @Override
  public Integer call() throws Exception {
    AttentionShape shape = shape();
    require(context >= 1, "--context must be >= 1, got " + context);
    require(blockTokens >= 1, "--block-tokens must be >= 1, got " + blockTokens);
    // A block longer than the context would allocate memory no token uses (the default of 64
    // stays allowed for short contexts).
    require(blockTokens <= context || !GivenOptions.given(spec, "--block-tokens"),
        "--block-tokens must be at most --context " + context + ", got " + blockTokens);
    require(rounds >= 1 && rounds <= MAX_ROUNDS,
        "--rounds must be 1 to " + MAX_ROUNDS + ", got " + rounds);
    require(steps >= 1 && steps <= MAX_STEPS, "--steps must be 1 to " + MAX_STEPS + ", got " + steps);
    require(bufferMib >= 64, "--buffer-mib must be >= 64, got " + bufferMib);
    List<String> names = cacheNames();
    if (!layout.strip().equalsIgnoreCase("gqa")) {
      GivenOptions.refuse(spec, "--kv-heads", "unless --layout is gqa");
    }
    if (names.stream().allMatch(n -> n.equals("contiguous"))) {
      GivenOptions.refuse(spec, "--block-tokens", "on a contiguous cache alone");
    }
    if (kernel.strip().equalsIgnoreCase("scalar")) {
      GivenOptions.refuse(spec, "--threads", "with --kernel scalar: it runs on one thread");
    }
    AttentionKernel attention = Kernels.byName(kernel, threads);
    // The scalar kernel runs on one thread, so it is judged against what one thread reads.
    int readThreads = attention == AttentionKernels.scalar() ? 1
        : threads == null ? AttentionKernels.defaultThreads() : threads;
    List<KvSource> sources = new ArrayList<>();
    DecodeShare.Result result;
    try {
      List<DecodeShare.Case> cases = new ArrayList<>();
      for (String name : names) {
        KvSource source;
        try {
          source = name.equals("contiguous")
              ? KvSource.contiguous(shape.kvHeads(), shape.headDim(), context, 42)
              : KvSource.random(shape.kvHeads(), shape.headDim(), KvType.parse(name), blockTokens, context, 42);
        } catch (OutOfMemoryError e) {
          throw new BadInputException("--context " + context + " of " + shape.kvHeads()
              + " KV heads of --head-dim " + shape.headDim() + " (blocks of --block-tokens "
              + blockTokens + "): cannot allocate the " + name + " cache (" + e.getMessage() + ")");
        }
        sources.add(source);
        cases.add(new DecodeShare.Case(label(name), source.view(context)));
      }
      ReadProbe opened;
      try {
        opened = ReadProbe.open(readThreads, (long) bufferMib << 20);
      } catch (OutOfMemoryError e) {
        throw new BadInputException("--buffer-mib " + bufferMib + ": " + RooflineCommand.CANNOT_ALLOCATE + "("
            + e.getMessage() + ")");
      }
      try (ReadProbe probe = opened) {
        result = DecodeShare.measure(attention, shape, cases, probe, rounds, steps, WARMUP_STEPS);
      }
    } finally {
      for (KvSource s : sources) {
        s.close();
      }
    }
    print(result, attention, shape);
    return 0;
  }

  private AttentionShape shape() {
    String name = layout.strip().toLowerCase(Locale.ROOT);
    heads.check(name.equals("gqa"));
    int h = heads.queryHeads;
    int d = heads.headDim;
    return switch (name) {
      case "mha" -> AttentionShape.mha(h, d);
      case "mqa" -> AttentionShape.mqa(h, d);
      case "gqa" -> AttentionShape.gqa(h, heads.kvHeads, d);
      default -> throw new BadInputException("--layout must be mha, gqa or mqa, got '" + layout + "'");
    };
  }

  /** The caches asked for, checked before any memory is filled. */
  private List<String> cacheNames() {
    List<String> names = new ArrayList<>();
    require(caches != null && !caches.isEmpty(), "--caches names no cache");
    for (String raw : caches) {
      String name = raw.strip().toLowerCase(Locale.ROOT);
      require(!name.isEmpty(), "--caches '" + String.join(",", caches) + "' holds an empty name");
      if (!name.equals("contiguous")) {
        KvType type = Kernels.kvType("--caches", name, "contiguous");
        require(type.supportsHeadDim(heads.headDim), "--caches " + type.label()
            + " needs a head dim that is a multiple of " + KvType.Q8_0_BLOCK + ", got " + heads.headDim);
        name = type.label();
      }
      require(!names.contains(name), "--caches names '" + name + "' twice");
      names.add(name);
    }
    return names;
  }

  private static String label(String name) {
    return name.equals("contiguous") ? "f32 contiguous" : name + " paged";
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new BadInputException(message);
    }
  }

  private void print(DecodeShare.Result r, AttentionKernel attention, AttentionShape shape)
      throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      // What was measured, as the table's first line says it, and then the figures.
      java.util.Map<String, Object> whole = new java.util.LinkedHashMap<>();
      whole.put("layout", layout.strip().toLowerCase(Locale.ROOT));
      whole.put("queryHeads", shape.queryHeads());
      whole.put("kvHeads", shape.kvHeads());
      whole.put("headDim", shape.headDim());
      whole.put("context", context);
      whole.put("kernel", attention.description());
      whole.putAll(ReportFiles.json().convertValue(r,
          new com.fasterxml.jackson.core.type.TypeReference<java.util.Map<String, Object>>() { }));
      out.println(ReportFiles.json().writeValueAsString(whole));
      return;
    }
    out.printf("%s decode, %d query heads over %d KV heads, head dim %d, %d keys; %s; "
            + "%d rounds of %d steps%n", layout.toUpperCase(Locale.ROOT), shape.queryHeads(),
        shape.kvHeads(), shape.headDim(), context, attention.description(), r.rounds(), r.stepsPerRound());
    out.printf("memory read beside it: median %.1f GB/s (rounds %.1f-%.1f), %s, %d MiB%n",
        r.readGBpsMedian(), r.readGBpsMin(), r.readGBpsMax(), Checks.count(r.threads(), "thread"),
        r.bufferBytes() >> 20);
    out.printf("%-16s %12s %9s %22s %24s%n", "cache", "ms/step", "GB/s", "share of read (rounds)",
        "time vs " + r.rows().get(0).cache());
    for (DecodeShare.Row row : r.rows()) {
      out.printf("%-16s %12.3f %9.1f %8.0f%% (%3.0f-%3.0f%%) %12.2f (%.2f-%.2f)%n", row.cache(),
          row.medianMs(), row.gbps(), 100 * row.shareMedian(), 100 * row.shareMin(),
          100 * row.shareMax(), row.timeRatioMedian(), row.timeRatioMin(), row.timeRatioMax());
    }
  }
}
