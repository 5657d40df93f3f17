package io.mqa4j.bench.cli;

import io.mqa4j.bench.compare.Forks;
import io.mqa4j.bench.compare.ReportFiles;
import io.mqa4j.bench.roofline.Roofline;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.spi.Checks;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Measures this machine's memory read bandwidth and FP32 FMA peak. */
@Command(name = "roofline", mixinStandardHelpOptions = true, versionProvider = Mqa.Version.class,
    description = {"Measures the ceilings kernels are judged against: memory read bandwidth "
        + "(a STREAM-like read of an off-heap buffer far larger than the last-level cache) and "
        + "FP32 FMA peak (Vector API), with all threads and with one."},
    footer = {"", "Example:", "  ./mqa roofline --json"})
final class RooflineCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = "--json", description = "Print one JSON object instead of a table.")
  boolean json;

  @Option(names = "--threads", paramLabel = "N", description = "Threads. Default: every processor.")
  Integer threads;

  /** What a refusal says of a read buffer that could not be allocated, before its reason. */
  static final String CANNOT_ALLOCATE = "cannot allocate the buffer ";

  @Option(names = "--buffer-mib", paramLabel = "MIB", defaultValue = "1024",
      description = "Size of the buffer read, at least 64. Default: ${DEFAULT-VALUE}.")
  int bufferMib;

  @Option(names = "--repeats", paramLabel = "N", defaultValue = "7",
      description = "Timed passes, 1 to 1000; the figures are their medians. Default: ${DEFAULT-VALUE}.")
  int repeats;

  /** Set by a parent compare: where this fork writes its JSON (see {@link Forks#emit}). */
  @Option(names = Forks.RESULT_OPTION, hidden = true)
  Path resultFile;

  /** Keeps a run finite: a thousand passes of the default buffer take minutes already. */
  static final int MAX_REPEATS = 1000;

  @Override
  public Integer call() throws Exception {
    if (resultFile != null && !json) {
      throw new BadInputException(Forks.RESULT_OPTION + " (internal: where a parent compare reads "
          + "a forked roofline) goes only with --json");
    }
    int n = threads == null ? AttentionKernels.processorThreads() : threads;
    Kernels.checkThreads(n);
    if (bufferMib < 64) {
      throw new BadInputException("--buffer-mib must be >= 64, got " + bufferMib);
    }
    if (repeats < 1 || repeats > MAX_REPEATS) {
      throw new BadInputException("--repeats must be 1 to " + MAX_REPEATS + ", got " + repeats);
    }
    Roofline.Result r;
    try {
      r = Roofline.measure(n, (long) bufferMib << 20, repeats);
    } catch (OutOfMemoryError e) {
      throw new BadInputException("--buffer-mib " + bufferMib + ": " + CANNOT_ALLOCATE + "("
          + e.getMessage() + ")");
    }
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      Forks.emit(out, resultFile, ReportFiles.json().writeValueAsString(r));
    } else {
      String all = Checks.count(r.threads(), "thread");
      if (r.threads() == 1) { // the one-thread figures would be a second reading of the same
        out.printf("memory read bandwidth  %7.1f GB/s (1 thread)%n", r.readGBps());
        out.printf("FP32 FMA peak          %7.1f GFLOP/s (1 thread)%n", r.fmaGflops());
      } else {
        out.printf("memory read bandwidth  %7.1f GB/s (%s)   %7.1f GB/s (1 thread)%n",
            r.readGBps(), all, r.readGBpsOneThread());
        out.printf("FP32 FMA peak          %7.1f GFLOP/s (%s)   %7.1f GFLOP/s (1 thread)%n",
            r.fmaGflops(), all, r.fmaGflopsOneThread());
      }
      out.printf("vector species         %d bits, %d float lanes; buffer %d MiB%n", r.speciesBits(),
          r.lanes(), r.bufferBytes() >> 20);
    }
    return 0;
  }
}
