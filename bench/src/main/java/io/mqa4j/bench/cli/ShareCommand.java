package io.mqa4j.bench.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.mqa4j.bench.compare.KvSource;
import io.mqa4j.bench.roofline.DecodeShare;
import io.mqa4j.bench.roofline.ReadProbe;
import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvType;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Decode's read rate as a share of the read bandwidth measured beside it, and caches side by side. */
@Command(name = "share", mixinStandardHelpOptions = true,
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

  @Option(names = "--query-heads", defaultValue = "32", paramLabel = "H",
      description = "Query heads. Default: ${DEFAULT-VALUE}.")
  int queryHeads;

  @Option(names = "--kv-heads", defaultValue = "8", paramLabel = "KV",
      description = "KV heads of the GQA layout. Default: ${DEFAULT-VALUE}.")
  int kvHeads;

  @Option(names = "--head-dim", defaultValue = "128", paramLabel = "D",
      description = "Elements per head. Default: ${DEFAULT-VALUE}.")
  int headDim;

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
      description = "Threads of the kernel and of the read. Default: every processor.")
  Integer threads;

  @Option(names = "--rounds", defaultValue = "9", paramLabel = "N",
      description = "Rounds; the figures are their medians. Default: ${DEFAULT-VALUE}.")
  int rounds;

  @Option(names = "--steps", defaultValue = "15", paramLabel = "N",
      description = "Decode steps per cache and round (their median is the round's). Default: ${DEFAULT-VALUE}.")
  int steps;

  @Option(names = "--buffer-mib", defaultValue = "1024", paramLabel = "MIB",
      description = "Size of the buffer read. Default: ${DEFAULT-VALUE}.")
  int bufferMib;

  @Option(names = "--json", description = "Print one JSON object instead of a table.")
  boolean json;

  /** Decode steps per cache before timing: enough for the kernel's loops to be compiled. */
  private static final int WARMUP_STEPS = 30;

  @Override
  public Integer call() throws Exception {
    AttentionShape shape = shape();
    require(context >= 1, "--context must be >= 1, got " + context);
    require(blockTokens >= 1, "--block-tokens must be >= 1, got " + blockTokens);
    require(rounds >= 1, "--rounds must be >= 1, got " + rounds);
    require(steps >= 1, "--steps must be >= 1, got " + steps);
    require(bufferMib >= 64, "--buffer-mib must be >= 64, got " + bufferMib);
    List<String> names = cacheNames();
    AttentionKernel attention = Kernels.byName(kernel, threads);
    int readThreads = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
    List<KvSource> sources = new ArrayList<>();
    DecodeShare.Result result;
    try {
      List<DecodeShare.Case> cases = new ArrayList<>();
      for (String name : names) {
        KvSource source = name.equals("contiguous")
            ? KvSource.contiguous(shape.kvHeads(), headDim, context, 42)
            : KvSource.random(shape.kvHeads(), headDim, KvType.parse(name), blockTokens, context, 42);
        sources.add(source);
        cases.add(new DecodeShare.Case(label(name), source.view(context)));
      }
      try (ReadProbe probe = ReadProbe.open(readThreads, (long) bufferMib << 20)) {
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
    require(queryHeads >= 1, "--query-heads must be >= 1, got " + queryHeads);
    require(headDim >= 1, "--head-dim must be >= 1, got " + headDim);
    return switch (layout.strip().toLowerCase(Locale.ROOT)) {
      case "mha" -> AttentionShape.mha(queryHeads, headDim);
      case "mqa" -> AttentionShape.mqa(queryHeads, headDim);
      case "gqa" -> {
        require(kvHeads >= 1 && queryHeads % kvHeads == 0,
            "--kv-heads must divide --query-heads (" + queryHeads + "), got " + kvHeads);
        yield AttentionShape.gqa(queryHeads, kvHeads, headDim);
      }
      default -> throw new BadInputException("--layout must be mha, gqa or mqa, got '" + layout + "'");
    };
  }

  /** The caches asked for, checked before any memory is filled. */
  private List<String> cacheNames() {
    List<String> names = new ArrayList<>();
    for (String raw : caches) {
      String name = raw.strip().toLowerCase(Locale.ROOT);
      if (!name.equals("contiguous")) {
        KvType type = Kernels.kvType("--caches", name);
        require(type.supportsHeadDim(headDim), "--caches " + type.label()
            + " needs a head dim that is a multiple of " + KvType.Q8_0_BLOCK + ", got " + headDim);
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
      out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(r));
      return;
    }
    out.printf("%s decode, %d query heads over %d KV heads, head dim %d, %d keys; %s; "
            + "%d rounds of %d steps%n", layout.toUpperCase(Locale.ROOT), shape.queryHeads(),
        shape.kvHeads(), headDim, context, attention.description(), r.rounds(), r.stepsPerRound());
    out.printf("memory read beside it: median %.1f GB/s (rounds %.1f-%.1f), %d threads, %d MiB%n",
        r.readGBpsMedian(), r.readGBpsMin(), r.readGBpsMax(), r.threads(), r.bufferBytes() >> 20);
    out.printf("%-16s %12s %9s %22s %24s%n", "cache", "ms/step", "GB/s", "share of read (rounds)",
        "time vs " + r.rows().get(0).cache());
    for (DecodeShare.Row row : r.rows()) {
      out.printf("%-16s %12.3f %9.1f %8.0f%% (%3.0f-%3.0f%%) %12.2f (%.2f-%.2f)%n", row.cache(),
          row.medianMs(), row.gbps(), 100 * row.shareMedian(), 100 * row.shareMin(),
          100 * row.shareMax(), row.timeRatioMedian(), row.timeRatioMin(), row.timeRatioMax());
    }
  }
}
