package io.mqa4j.bench.cli;

import com.fasterxml.jackson.core.JacksonException;
import io.mqa4j.bench.compare.CompareReport;
import io.mqa4j.bench.compare.CompareRun;
import io.mqa4j.bench.compare.CompareSettings;
import io.mqa4j.bench.compare.CompareTables;
import io.mqa4j.bench.compare.Forks;
import io.mqa4j.bench.compare.Machine;
import io.mqa4j.bench.compare.ReportFiles;
import io.mqa4j.bench.compare.RooflineFigures;
import io.mqa4j.bench.compare.Sizes;
import io.mqa4j.bench.compare.Row;
import io.mqa4j.bench.compare.StepTimer;
import io.mqa4j.bench.roofline.Roofline;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.KvType;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The main job: how much faster MQA and GQA run than MHA on this machine. */
@Command(name = "compare", mixinStandardHelpOptions = true, versionProvider = Mqa.Version.class,
    sortOptions = false,
    description = {"Times decode (one token over a KV cache) and a short causal prefill for MHA, "
        + "GQA and MQA, scalar and SIMD, and prints latency, throughput, bytes, GB/s, GFLOP/s, the "
        + "share of this machine's roofline and the speed-up over MHA. Writes report.md, "
        + "results.json, decode-latency.png (when it measures decode) and kv-memory.png into "
        + "--out."},
    footer = {"", "Examples:", "  ./mqa compare", "  ./mqa compare --quick", "  ./mqa compare --rounds 3",
        "  ./mqa compare --phase decode --contexts 4096,32768 --layouts mha,mqa \\",
        "      --kernels simd --json"})
final class CompareCommand implements Callable<Integer> {

  /** KV element types measured unless --dtypes says otherwise. */
  static final List<String> DEFAULT_DTYPES = List.of("f32", "bf16");

  @Spec
  CommandSpec spec;

  @Option(names = "--phase", defaultValue = "both", paramLabel = "PHASE",
      description = "decode, prefill or both. Default: ${DEFAULT-VALUE}.")
  String phase;

  @Option(names = "--contexts", split = ",", paramLabel = "N",
      description = "Context lengths, for decode and prefill alike (a prefill of N tokens). "
          + "Default: decode 1024,4096,16384 and prefill 512,2048 (--quick: decode 1024,4096, "
          + "prefill 128).")
  List<Integer> contexts;

  @Mixin
  HeadOptions heads = new HeadOptions();

  @Option(names = "--layouts", split = ",", defaultValue = "mha,gqa,mqa", paramLabel = "LAYOUT",
      description = "Layouts among mha, gqa, mqa. Default: ${DEFAULT-VALUE}.")
  List<String> layouts;

  @Option(names = "--kernels", split = ",", defaultValue = "scalar,simd", paramLabel = "KERNEL",
      description = "Kernels among scalar, simd. Default: ${DEFAULT-VALUE}.")
  List<String> kernels;

  @Option(names = "--dtypes", split = ",", paramLabel = "TYPE",
      description = "KV element types among f32, f16, bf16, q8_0. Default: f32,bf16.")
  List<String> dtypes;

  @Option(names = "--threads", paramLabel = "N",
      description = "Threads of the SIMD kernel. Default: every processor.")
  Integer threads;

  @Option(names = "--max-scalar-prefill", defaultValue = "1024", paramLabel = "N",
      description = "Longest prompt the slow scalar kernel prefills. Default: ${DEFAULT-VALUE}.")
  int maxScalarPrefill;

  @Option(names = "--block-tokens", defaultValue = "64", paramLabel = "N",
      description = "Tokens per block of the paged KV cache. Default: ${DEFAULT-VALUE}.")
  int blockTokens;

  @Option(names = "--rounds", defaultValue = "1", paramLabel = "N",
      description = "Time every case N times, the layouts in turn (a fresh JVM each time, but "
          + "for --quick and --in-process), and report each case's median round (for an even N, "
          + "the faster of the middle two). On a shared "
          + "machine a slow spell then spoils one round, not the table. Default: ${DEFAULT-VALUE}.")
  int rounds;

  @Option(names = "--quick", description = "A smaller run, timed in this one JVM (the roofline "
      + "in a JVM of its own), in under 30 seconds on two quiet cores.")
  boolean quick;

  @Option(names = "--json", description = "Print one JSON object (with a rows array) instead of the table.")
  boolean json;

  @Option(names = "--out", defaultValue = "mqa-report", paramLabel = "DIR",
      description = "Where to write the report files. Default: ${DEFAULT-VALUE}.")
  Path out;

  @Option(names = "--no-files", description = "Write no report files.")
  boolean noFiles;

  @Option(names = "--no-progress", description = "No progress bar on stderr.")
  boolean noProgress;

  @Option(names = "--in-process",
      description = "Measure in this JVM instead of a fresh JVM per layout and type (as --quick "
          + "does; faster to start, "
          + "but one measurement's JIT profile can slow the next).")
  boolean inProcess;

  /** Set by a parent compare: measure the settings given as JSON and print the rows as JSON. */
  @Option(names = "--worker-settings", hidden = true)
  String workerSettings;

  /** Set by a parent compare beside --worker-settings: where the rows go (see Forks#emit). */
  @Option(names = Forks.RESULT_OPTION, hidden = true)
  Path resultFile;

  @Option(names = "--from", paramLabel = "FILE",
      description = "Measure nothing: report results.json of an earlier run, or a JMH JSON file. "
          + "Only --out, --no-files and --json go with it.")
  Path from;

  @Override
  public Integer call() throws Exception {
    PrintWriter stdout = spec.commandLine().getOut();
    GivenOptions.checkOut(spec, out, noFiles);
    if (from != null) {
      checkFrom();
      return ReportCommand.report("--from ", from, Map.of(), out, noFiles, json,
          Words.commandLine(spec), stdout, spec.commandLine().getErr());
    }
    if (resultFile != null && workerSettings == null) {
      throw new BadInputException(Forks.RESULT_OPTION + " (internal: where a parent compare reads "
          + "its fork's rows) goes only with --worker-settings");
    }
    if (workerSettings != null) {
      for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
        if (!o.longestName().equals("--worker-settings")
            && !o.longestName().equals(Forks.RESULT_OPTION)) {
          GivenOptions.refuse(spec, o.longestName(), "with --worker-settings, which carries every setting");
        }
      }
      return work(stdout);
    }
    CompareSettings settings = settings();
    if (!noFiles) {
      ReportFiles.checkWritable(out);
    }
    List<String> notes = new ArrayList<>();
    if (settings.phases().contains("prefill") && settings.kernels().contains("scalar")
        && settings.prefillContexts().stream().anyMatch(c -> c > settings.maxScalarPrefill())) {
      notes.add("the scalar kernel prefills only prompts of up to " + settings.maxScalarPrefill()
          + " tokens (--max-scalar-prefill)");
    }
    if (rounds < 1 || rounds > MAX_ROUNDS) {
      throw new BadInputException("--rounds must be 1 to " + MAX_ROUNDS + ", got " + rounds);
    }
    if (rounds > 1) {
      notes.add("each row is the median of " + rounds + " rounds (the faster of the middle two "
          + "for an even count); results.json has every round's median (roundMicros)");
    }
    CompareRun run = new CompareRun(settings);
    int steps = run.plan().size() * rounds + 1;
    try (Progress progress = Progress.start("compare", steps, !noProgress, spec.commandLine().getErr())) {
      progress.started("roofline");
      RooflineFigures roofline = roofline(settings);
      progress.finished();
      List<Row> rows;
      try {
        List<List<Row>> timed = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
          timed.add(oneJvm() ? run.measure(progress) : forked(settings, progress));
        }
        rows = CompareRun.complete(CompareRun.medianOfRounds(timed), roofline);
      } catch (OutOfMemoryError e) {
        throw notEnoughMemory(settings, e);
      }
      notes.addAll(CompareRun.unsteadyNotes(rows));
      CompareReport report = new CompareReport("mqa4j compare",
          Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(), Machine.current(), roofline,
          settings, rows, notes);
      progress.close();
      ReportCommand.emit(report, json, noFiles, out,
          Words.commandLine(spec), true, stdout);
    }
    return 0;
  }

  /** The options whose sizes did not fit, named as the user gave them. */
  static BadInputException notEnoughMemory(CompareSettings settings, OutOfMemoryError e) {
    List<String> contexts = new ArrayList<>();
    if (settings.phases().contains("decode")) {
      contexts.add(settings.decodeContexts() + " (decode)");
    }
    if (settings.phases().contains("prefill")) {
      contexts.add(settings.prefillContexts() + " (prefill)");
    }
    return new BadInputException("not enough memory for --contexts " + String.join(" and ", contexts)
        + " of --query-heads " + settings.queryHeads() + " and --head-dim " + settings.headDim()
        + " in blocks of --block-tokens " + settings.blockTokens() + " (" + e.getMessage() + ")");
  }

  private RooflineFigures roofline(CompareSettings settings) throws Exception {
    // A quick run still reads the roofline in a JVM of its own: run first in the JVM that times
    // the kernels, its FMA loop once left their vector FMAs uncompiled (see Forks).
    int bufferMib = quick ? 256 : 1024;
    // compare has no option for the buffer: a failure to allocate it is said in its own terms.
    String noBuffer = "not enough memory for the roofline's " + bufferMib + " MiB read buffer"
        + (quick ? "" : " (--quick reads 256 MiB)");
    if (inProcess) {
      try {
        return RooflineFigures.of(Roofline.measure(settings.threads(), (long) bufferMib << 20,
            quick ? 3 : 7));
      } catch (OutOfMemoryError e) {
        throw new BadInputException(noBuffer + " (" + e.getMessage() + ")");
      }
    }
    String json;
    try {
      json = Forks.run(Mqa.class, List.of("roofline", "--json", "--threads",
          String.valueOf(settings.threads()), "--buffer-mib", String.valueOf(bufferMib),
          "--repeats", quick ? "3" : "7"), line -> { });
    } catch (IllegalArgumentException e) {
      String said = RooflineCommand.CANNOT_ALLOCATE;
      int at = e.getMessage() == null ? -1 : e.getMessage().indexOf(said);
      if (at >= 0) { // the child's "--buffer-mib N: cannot allocate the buffer (why)"
        throw new BadInputException(noBuffer + " " + e.getMessage().substring(at + said.length()));
      }
      throw e;
    }
    return RooflineFigures.of(Forks.parse(json, Roofline.Result.class, "roofline"));
  }

  /**
   * A quick run measures its rows in this JVM: three JVMs of their own, each starting, compiling
   * and warming the kernels again, took a 25-second run to about 55 seconds once every row's
   * warm-up waited for a quiet JIT, and its figures came out alike either way.
   */
  private boolean oneJvm() {
    return inProcess || quick;
  }

  /** Most rounds: each full round takes minutes. */
  static final int MAX_ROUNDS = 25;

  /** Measures each layout and type in a fresh JVM; rows come back as JSON. */
  private List<Row> forked(CompareSettings settings, Progress progress) throws Exception {
    List<CompareSettings> forks = new ArrayList<>();
    for (String layout : settings.layouts()) {
      for (String dtype : settings.dtypes()) {
        forks.add(settings.only(layout, dtype));
      }
    }
    List<Row> rows = new ArrayList<>();
    for (CompareSettings one : forks) {
      String json = Forks.run(Mqa.class, List.of("compare", "--worker-settings",
          ReportFiles.json().writeValueAsString(one)), line -> {
            if (line.startsWith(Forks.PROGRESS)) {
              progress.started(line.substring(Forks.PROGRESS.length()));
              progress.finished();
            }
          });
      rows.addAll(List.of(Forks.parse(json, Row[].class, "compare")));
    }
    return rows;
  }

  /** The child's side of {@link #forked}: measure, report progress on stderr, rows on stdout. */
  private int work(PrintWriter stdout) throws Exception {
    CompareSettings settings = workerSettings();
    java.io.PrintStream err = System.err;
    try {
      return workOn(settings, stdout, err);
    } catch (OutOfMemoryError e) {
      throw notEnoughMemory(settings, e); // the parent passes this line on as its own
    }
  }

  private int workOn(CompareSettings settings, PrintWriter stdout, java.io.PrintStream err)
      throws Exception {
    List<Row> rows = new CompareRun(settings).run(null, new CompareRun.Listener() {
      private String label;

      @Override
      public void started(String label) {
        this.label = label;
      }

      @Override
      public void finished() {
        err.println(Forks.PROGRESS + label);
        err.flush();
      }
    });
    Forks.emit(stdout, resultFile, ReportFiles.json().writeValueAsString(rows));
    return 0;
  }

  /**
   * The settings a parent compare handed this child. The option is internal, but a person can
   * still type it: anything a parent would never send is refused naming the option.
   */
  private CompareSettings workerSettings() {
    try {
      return ReportFiles.json().readValue(workerSettings, CompareSettings.class);
    } catch (JacksonException e) {
      Throwable cause = e.getCause() instanceof IllegalArgumentException iae ? iae : e;
      String reason = cause == e ? e.getOriginalMessage() : cause.getMessage();
      throw new BadInputException("--worker-settings (internal: the settings a parent compare "
          + "hands its child JVM) are not valid settings: " + reason);
    }
  }

  /** The options that only matter to a run that measures: with --from they have no effect. */
  private static final List<String> MEASURING_OPTIONS = List.of("--phase", "--contexts",
      "--query-heads", "--kv-heads", "--head-dim", "--layouts", "--kernels", "--dtypes",
      "--threads", "--max-scalar-prefill", "--block-tokens", "--rounds", "--quick", "--no-progress",
      "--in-process", "--worker-settings", Forks.RESULT_OPTION);

  /**
   * With --from: refuses a bad value of any option as a measuring run would, then any option
   * that has no effect when nothing is measured.
   */
  private void checkFrom() {
    settings(false);
    List<String> given = new ArrayList<>();
    for (String name : MEASURING_OPTIONS) {
      if (GivenOptions.given(spec, name)) {
        given.add(name);
      }
    }
    if (!given.isEmpty()) {
      throw new BadInputException(String.join(", ", given) + (given.size() == 1 ? " has" : " have")
          + " no effect with --from (it measures nothing; only --out, --no-files and --json apply)");
    }
  }

  /** The settings after defaults, --quick and validation. */
  CompareSettings settings() {
    return settings(true);
  }

  /** As {@link #settings()}; {@code needSimd} false skips the check that SIMD kernels can run. */
  private CompareSettings settings(boolean needSimd) {
    List<String> phases = switch (phase.strip().toLowerCase(Locale.ROOT)) {
      case "decode" -> List.of("decode");
      case "prefill" -> List.of("prefill");
      case "both" -> List.of("decode", "prefill");
      default -> throw new BadInputException("--phase must be decode, prefill or both, got '" + phase + "'");
    };
    List<String> layoutList = distinct("--layouts", layouts, List.of("mha", "gqa", "mqa"));
    heads.check(layoutList.contains("gqa"));
    List<String> kernelList = distinct("--kernels", kernels, List.of("scalar", "simd"));
    if (!layoutList.contains("gqa")) {
      GivenOptions.refuse(spec, "--kv-heads", "unless --layouts includes gqa");
    }
    if (!kernelList.contains("simd")) {
      GivenOptions.refuse(spec, "--threads", "without the simd kernel: the scalar kernel runs on one thread");
    }
    if (!kernelList.contains("scalar") || !phases.contains("prefill")) {
      GivenOptions.refuse(spec, "--max-scalar-prefill", "unless the scalar kernel prefills");
    }
    if (needSimd && kernelList.contains("simd") && !AttentionKernels.simdAvailable()) {
      throw new BadInputException("--kernels simd: the SIMD kernel is not available (run through "
          + "./mqa, or add --add-modules jdk.incubator.vector); use --kernels scalar");
    }
    List<String> dtypeList = new ArrayList<>();
    for (String d : dtypes == null ? DEFAULT_DTYPES : dtypes) {
      KvType type = Kernels.kvType("--dtypes", d);
      if (!type.supportsHeadDim(heads.headDim)) {
        throw new BadInputException("--dtypes " + type.label() + " needs --head-dim to be a multiple of "
            + KvType.Q8_0_BLOCK + ", got " + heads.headDim);
      }
      if (!dtypeList.contains(type.label())) {
        dtypeList.add(type.label());
      }
    }
    if (dtypeList.isEmpty()) {
      throw new BadInputException("--dtypes must name at least one type");
    }
    int n = threads == null ? AttentionKernels.processorThreads() : threads;
    Kernels.checkThreads(n);
    if (blockTokens < 1) {
      throw new BadInputException("--block-tokens must be >= 1, got " + blockTokens);
    }
    if (maxScalarPrefill < 0) {
      throw new BadInputException("--max-scalar-prefill must be >= 0, got " + maxScalarPrefill);
    }
    List<Integer> decodeContexts = quick ? List.of(1024, 4096) : List.of(1024, 4096, 16384);
    List<Integer> prefillContexts = quick ? List.of(128) : List.of(512, 2048);
    if (contexts != null) {
      if (contexts.isEmpty()) { // "--contexts ," splits into nothing
        throw new BadInputException("--contexts must name at least one context, got none");
      }
      for (int c : contexts) {
        if (c < 1) {
          throw new BadInputException("--contexts must all be >= 1, got " + c);
        }
      }
      decodeContexts = List.copyOf(new LinkedHashSet<>(contexts));
      prefillContexts = decodeContexts;
      checkFits(Collections.max(contexts), layoutList, phases.contains("prefill"));
    }
    CompareSettings settings = new CompareSettings(phases, decodeContexts, prefillContexts,
        heads.queryHeads, heads.kvHeads, heads.headDim, layoutList, kernelList, dtypeList, n,
        maxScalarPrefill, blockTokens, quick ? StepTimer.Budget.QUICK : StepTimer.Budget.NORMAL);
    List<CompareRun.Case> plan = new CompareRun(settings).plan();
    if (plan.isEmpty()) { // only scalar prefill, of prompts all too long
      throw new BadInputException("nothing to measure: --kernels scalar prefills prompts of up to"
          + " --max-scalar-prefill " + maxScalarPrefill + " tokens, and every prefill context is"
          + " longer: " + prefillContexts);
    }
    // A block longer than every context measured would allocate memory no token uses (the
    // default of 64 stays allowed for short contexts).
    int longest = plan.stream().mapToInt(CompareRun.Case::context).max().orElseThrow();
    if (blockTokens > longest && GivenOptions.given(spec, "--block-tokens")) {
      throw new BadInputException("--block-tokens must be at most the longest context measured, "
          + longest + ", got " + blockTokens);
    }
    return settings;
  }

  /**
   * Refuses a context whose f32 keys and values for the widest layout asked for would not fit in
   * this machine's memory, before any measuring: found out by allocation, a long run would end
   * there instead.
   */
  private void checkFits(int context, List<String> layouts, boolean prefill) {
    long memory = Machine.current().memoryBytes();
    if (memory <= 0) {
      return; // not known here: allocation will say
    }
    int kvHeads = layouts.contains("mha") ? heads.queryHeads
        : layouts.contains("gqa") ? heads.kvHeads : 1;
    String layout = layouts.contains("mha") ? "mha" : layouts.contains("gqa") ? "gqa" : "mqa";
    double bytes = 2.0 * Float.BYTES * context * kvHeads * heads.headDim;
    // A prefill of the whole context holds a query row and an output row per token, every layout.
    double rows = prefill ? 2.0 * Float.BYTES * context * heads.queryHeads * heads.headDim : 0;
    if (bytes + rows > memory) {
      throw new BadInputException("--contexts " + context + " needs "
          + Sizes.bytes((long) Math.min(bytes + rows, Long.MAX_VALUE)) + " of f32 keys and values for "
          + layout + " (" + kvHeads + " KV heads of " + heads.headDim + ")"
          + (prefill ? " and of the prefill's queries and outputs (" + heads.queryHeads + " heads)" : "")
          + ", more than this machine's " + Sizes.bytes(memory) + " of memory");
    }
  }

  private static List<String> distinct(String option, List<String> given, List<String> allowed) {
    List<String> out = new ArrayList<>();
    for (String g : given) {
      String v = g.strip().toLowerCase(Locale.ROOT);
      if (!allowed.contains(v)) {
        throw new BadInputException(option + " must be among " + String.join(", ", allowed) + ", got '" + g + "'");
      }
      if (!out.contains(v)) {
        out.add(v);
      }
    }
    if (out.isEmpty()) {
      throw new BadInputException(option + " must name at least one of " + String.join(", ", allowed));
    }
    return out;
  }
}
