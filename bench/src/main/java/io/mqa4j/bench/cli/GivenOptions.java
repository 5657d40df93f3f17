package io.mqa4j.bench.cli;

import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/** Refusals of options a user gave that would do nothing, so none is silently dropped. */
final class GivenOptions {
  private GivenOptions() {}

  /** Whether the user gave {@code option} on the command line (not just its default). */
  static boolean given(CommandSpec spec, String option) {
    ParseResult parsed = spec.commandLine().getParseResult();
    return parsed != null && parsed.hasMatchedOption(option);
  }

  /** Refuses {@code option} if it was given: it has no effect {@code when}. */
  static void refuse(CommandSpec spec, String option, String when) {
    if (given(spec, option)) {
      OptionSpec o = spec.commandLine().getParseResult().matchedOption(option);
      String value = o.arity().max() == 0 ? "" : " " + String.join(",", o.originalStringValues());
      throw new BadInputException(option + value + " has no effect " + when);
    }
  }

  /** The checks every command that writes files into {@code --out} makes of it. */
  static void checkOut(CommandSpec spec, Path out, boolean noFiles) {
    if (noFiles) {
      refuse(spec, "--out", "with --no-files");
    } else if (out.toString().isBlank()) {
      throw new BadInputException("--out must name a directory, got an empty path");
    }
  }
}
