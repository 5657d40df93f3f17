package io.mqa4j.bench.cli;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import io.mqa4j.bench.compare.CompareReport;
import io.mqa4j.bench.compare.CompareRun;
import io.mqa4j.bench.compare.CompareTables;
import io.mqa4j.bench.compare.JmhResults;
import io.mqa4j.bench.compare.Machine;
import io.mqa4j.bench.compare.ReportFiles;
import io.mqa4j.bench.compare.ReportInput;
import io.mqa4j.core.AttentionKernels;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Turns saved results (a compare run's results.json or JMH JSON) into the compare table and files. */
@Command(name = "report", mixinStandardHelpOptions = true, versionProvider = Mqa.Version.class,
    description = {"Measures nothing: reads results.json from an earlier compare run, or the JSON "
        + "JMH writes (-rf json) for the bench suite, and prints the compare table and writes the "
        + "report files."},
    footer = {"", "Examples:", "  ./mqa report mqa-report/results.json --no-files",
        "  \"$(.mvn/find-jdk)\"/bin/java --add-modules jdk.incubator.vector \\",
        "      -jar bench/target/benchmarks.jar \\",
        "      Decode -rf json -rff jmh.json",
        "  ./mqa report jmh.json --out jmh-report",
        "  ./mqa report jmh.json --param cache=paged --out jmh-paged"})
final class ReportCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Parameters(index = "0", paramLabel = "FILE", description = "results.json or a JMH result file.")
  Path file;

  @Option(names = "--out", defaultValue = "mqa-report", paramLabel = "DIR",
      description = "Where to write the report files. Default: ${DEFAULT-VALUE}.")
  Path out;

  @Option(names = "--no-files", description = "Write no report files.")
  boolean noFiles;

  @Option(names = "--json", description = "Print the report as one JSON object.")
  boolean json;

  @Option(names = {"-p", "--param"}, paramLabel = "NAME=VALUE",
      description = "JMH files only: report the benchmarks whose parameter NAME has VALUE, as "
          + "JMH's -p names it (cache=paged, queries=segment); repeat for more. Needed when a "
          + "run spans several values of a parameter the table does not show.")
  List<String> params = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    GivenOptions.checkOut(spec, out, noFiles);
    Map<String, String> only = new LinkedHashMap<>();
    for (String param : params) {
      int eq = param.indexOf('=');
      String name = eq < 0 ? "" : param.substring(0, eq).strip();
      String value = eq < 0 ? "" : param.substring(eq + 1).strip();
      if (name.isEmpty() || value.isEmpty()) {
        throw new BadInputException("--param must be NAME=VALUE, got '" + param + "'");
      }
      if (only.putIfAbsent(name, value) != null) {
        throw new BadInputException("--param names " + name + " twice (" + only.get(name)
            + " and " + value + "): report one value at a time");
      }
    }
    return report("", file, only, out, noFiles, json, Words.commandLine(spec),
        spec.commandLine().getOut(), spec.commandLine().getErr());
  }

  /**
   * Reports {@code file}; {@code option} names it in messages ({@code "--from "} for
   * {@code compare --from}, empty for {@code report}'s positional argument).
   */
  static int report(String option, Path file, Map<String, String> only, Path out,
      boolean noFiles, boolean json, String command, PrintWriter stdout, PrintWriter stderr)
      throws IOException {
    String name = option + file;
    if (file.toString().isEmpty()) { // Path.of("") is the working directory, which misleads
      throw new BadInputException((option.isEmpty() ? "the results file" : option.strip())
          + " must name a file, got an empty path");
    }
    if (!Files.isRegularFile(file)) {
      throw new BadInputException(name + ": " + (Files.isDirectory(file) ? "a directory, not a file"
          : Files.exists(file) ? "not a regular file" : "no such file"));
    }
    if (!noFiles) {
      ReportFiles.checkWritable(out);
    }
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new BadInputException(name + ": cannot read: " + io.mqa4j.bench.io.AtomicFiles.reason(e));
    }
    if (bytes.length == 0) {
      throw new BadInputException(name + ": an empty file, not a compare results.json or JMH "
          + "result file");
    }
    JsonNode root;
    try {
      // One JSON value and nothing after it: a second document or stray text means the file is
      // not what either writer wrote.
      root = ReportFiles.json().reader()
          .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .readTree(bytes);
    } catch (IOException e) {
      throw new BadInputException(name + ": not JSON: " + ReportFiles.jsonProblem(e.getMessage()));
    }
    CompareReport report;
    try {
      if (ReportInput.isResults(root)) {
        if (!only.isEmpty()) {
          throw new BadInputException(name + ": --param picks JMH benchmarks, and this is a "
              + "compare results.json");
        }
        report = ReportInput.results(root);
      } else if (root != null && root.isArray()) {
        String chosen = only.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
            .collect(Collectors.joining(", "));
        report = new CompareReport("mqa4j report (from JMH)",
            Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(), Machine.current(), null, null,
            CompareRun.complete(JmhResults.rows(root, only), null),
            List.of("figures from JMH (" + file.getFileName() + ")"
                + (chosen.isEmpty() ? "" : "; benchmarks with " + chosen
                    + " (or without the parameter)")
                + (JmhResults.anyOnEveryProcessor(root, only) ? "; a row run with threads=0 (every "
                    + "processor) shows this machine's count, "
                    + AttentionKernels.processorThreads() : "")));
      } else {
        throw new BadInputException(name + ": neither a compare results.json (an object with rows) "
            + "nor a JMH result file (an array)");
      }
      if (report.rows().isEmpty()) {
        throw new BadInputException(name + ": holds no decode or prefill results");
      }
      // Checked before anything is drawn or written: the charts are logarithmic.
      ReportInput.checkRows(report.rows());
    } catch (IllegalArgumentException e) {
      throw new BadInputException(name + ": " + e.getMessage());
    }
    emit(report, json, noFiles, out, command, false, stdout);
    return 0;
  }

  /** Prints the table (or JSON) of {@code report} and writes its files unless {@code noFiles}. */
  static void emit(CompareReport report, boolean json, boolean noFiles, Path out, String command,
      boolean measured, PrintWriter stdout) throws IOException {
    // A report of a file writes its files first, so that a failure to write leaves no table on
    // stdout beside exit code 2. A measuring run prints first: a long compare's figures are not
    // lost to a disk that turns out full (its --out was checked before measuring).
    List<String> written = measured || noFiles ? List.of() : writeFiles(report, out, command);
    if (json) {
      stdout.println(ReportFiles.json().writeValueAsString(report));
    } else {
      stdout.print(CompareTables.table(report.rows()).toText());
      stdout.println();
      for (String line : CompareTables.legend(report.roofline())) {
        stdout.println(line.replace("`", ""));
      }
      report.notes().forEach(stdout::println);
    }
    stdout.flush();
    if (!noFiles) {
      if (measured) {
        written = writeFiles(report, out, command);
      }
      if (!json) {
        stdout.println("wrote " + out + "/: " + String.join(", ", written));
      }
    }
    stdout.flush();
  }

  /** Rendered in memory, then swapped in: on failure --out is left as it was. */
  private static List<String> writeFiles(CompareReport report, Path out, String command) {
    try {
      return ReportFiles.write(out, report, command);
    } catch (IOException e) {
      throw new BadInputException("--out " + out + ": " + e.getMessage());
    }
  }
}
