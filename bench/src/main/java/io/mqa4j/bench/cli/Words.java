package io.mqa4j.bench.cli;

/** Counts in messages and headings ("1 layer", "2 layers"), and command lines to copy. */
final class Words {
  private Words() {}

  static String count(long n, String one, String many) {
    return n + " " + (n == 1 ? one : many);
  }

  static String count(long n, String one) {
    return count(n, one, one + "s");
  }

  /**
   * The command a user ran, as {@code ./mqa} and its arguments, each quoted for a POSIX shell
   * where it needs to be, so that the line pasted into a shell runs the same command.
   */
  static String commandLine(picocli.CommandLine.Model.CommandSpec spec) {
    StringBuilder line = new StringBuilder("./mqa");
    for (String arg : spec.commandLine().getParseResult().originalArgs()) {
      line.append(' ').append(shellQuoted(arg));
    }
    return line.toString();
  }

  static String shellQuoted(String arg) {
    if (!arg.isEmpty() && arg.chars().allMatch(c -> Character.isLetterOrDigit(c) || "-_=.,/:@+%".indexOf(c) >= 0)) {
      return arg;
    }
    return "'" + arg.replace("'", "'\\''") + "'";
  }
}
