package io.mqa4j.bench.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import io.mqa4j.bench.compare.Forks;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code mqa} command line. Exit codes: 0 on success, 2 on bad input or output that cannot be
 * written whole (a full disk, or a pipe closed early as by {@code | head}; one line on stderr, no
 * stack trace), 1 on an internal failure.
 */
@Command(name = "mqa", mixinStandardHelpOptions = true, versionProvider = Mqa.Version.class,
    description = "Attention kernels for MHA, GQA and MQA on the CPU: compare, measure, check.",
    subcommands = {CompareCommand.class, AttendCommand.class, RooflineCommand.class, ShareCommand.class,
        ProfileCommand.class, ReportCommand.class, CommandLine.HelpCommand.class},
    footer = {"", "Examples:", "  ./mqa compare --quick", "  ./mqa attend --q q.npy --k k.npy --v v.npy --out o.npy --causal",
        "  ./mqa profile --model llama-3-8b --context 8192"})
public final class Mqa implements Runnable {

  /** Exit code for bad input. */
  public static final int BAD_INPUT = 2;
  /** Exit code for an internal failure. */
  public static final int FAILURE = 1;

  private static boolean verbose;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
      description = "Log more (kernel choice, timings); repeat for debug output.")
  void setVerbose(boolean[] flags) {
    verbose = flags.length > 0;
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(flags.length > 1 ? Level.DEBUG : flags.length == 1 ? Level.INFO : Level.WARN);
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(),
        "missing a command: compare, attend, roofline, share, profile or report");
  }

  public static void main(String[] args) {
    eraseIncubatorNotice();
    followParent(args);
    System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /**
   * A fork (given a result file by its parent) ends with its parent: a parent killed outright
   * (SIGKILL, the OOM killer) runs no hook to stop it, and it would measure on, then leave its
   * result file behind.
   */
  private static void followParent(String[] args) {
    int at = java.util.Arrays.asList(args).indexOf(io.mqa4j.bench.compare.Forks.RESULT_OPTION);
    if (at < 0 || at + 1 >= args.length) {
      return;
    }
    java.nio.file.Path result;
    try {
      result = java.nio.file.Path.of(args[at + 1]);
    } catch (RuntimeException e) {
      return; // not a path: the command refuses it
    }
    ProcessHandle.current().parent().ifPresent(parent -> parent.onExit().thenRun(() -> {
      try {
        java.nio.file.Files.deleteIfExists(result);
      } catch (java.io.IOException | RuntimeException ignored) {
        // a temporary file; the system cleans its temporary directory
      }
      Runtime.getRuntime().halt(1);
    }));
  }

  /**
   * On a terminal (the launcher says so), takes back the line the JVM printed on starting with an
   * incubator module, so that an error is one line there too: cursor up one line, clear it. The
   * launcher filters the line out when stderr is not a terminal.
   */
  private static void eraseIncubatorNotice() {
    if (Boolean.getBoolean("mqa4j.stderr.tty")
        && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
      System.err.print("\u001b[1A\u001b[2K");
      System.err.flush();
    }
  }

  /** Runs the command line with the given streams and returns the exit code. */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    verbose = false; // set again by -v; one run's flag must not outlive it in a JVM that runs many
    CommandLine cli = new CommandLine(new Mqa());
    cli.setOut(out);
    cli.setErr(err);
    cli.registerConverter(java.nio.file.Path.class, Mqa::path);
    cli.setParameterExceptionHandler((e, ignored) -> {
      String command = e.getCommandLine().getCommandName();
      err.println(prefix(command) + oneLine(plainer(e.getMessage())) + " (see "
          + ("mqa".equals(command) ? "" : "mqa ") + command + " --help)");
      return BAD_INPUT;
    });
    cli.setExecutionExceptionHandler((e, line, parsed) -> {
      Throwable cause = e instanceof UncheckedIOException u ? u.getCause() : e;
      if (cause instanceof BadInputException || cause instanceof IllegalArgumentException
          || cause instanceof IOException) {
        err.println(prefix(line.getCommandName()) + oneLine(cause.getMessage()));
        if (verbose) {
          cause.printStackTrace(err);
        }
        return BAD_INPUT;
      }
      if (cause instanceof Forks.ForkFailedException) { // says what failed; not the user's input
        err.println(prefix(line.getCommandName()) + oneLine(cause.getMessage()));
        if (verbose) {
          cause.printStackTrace(err);
        }
        return FAILURE;
      }
      err.println(prefix(line.getCommandName()) + "failed: " + oneLine(String.valueOf(e)));
      if (verbose) {
        e.printStackTrace(err);
      } else {
        err.println("(run with -v for the stack trace)");
      }
      return FAILURE;
    });
    int code;
    try {
      code = cli.execute(args);
    } catch (NoClassDefFoundError e) {
      if (String.valueOf(e.getMessage()).startsWith("jdk/incubator/vector")) {
        // The jar run by hand without the module: not the user's input, but theirs to fix.
        err.println(prefix(commandName(cli)) + "needs the Vector API: start java with "
            + "--add-modules jdk.incubator.vector (./mqa does)");
        return FAILURE;
      }
      throw e;
    } catch (OutOfMemoryError e) {
      // A size given on the command line that this machine cannot hold: the user's to change.
      err.println(prefix(commandName(cli)) + "not enough memory for the sizes asked ("
          + oneLine(e.getMessage()) + "); ask for less");
      return BAD_INPUT;
    }
    // A PrintWriter keeps its write errors to itself: output cut short (a full disk, a closed
    // pipe) must not pass for a whole report.
    out.flush();
    if (out.checkError() && code == 0) {
      err.println(prefix(commandName(cli)) + "cannot write standard output (a full disk or a "
          + "closed pipe?); what was written is incomplete");
      return BAD_INPUT;
    }
    return code;
  }

  /**
   * A path option's value. Under a locale whose character set cannot spell it (LC_ALL=C and a
   * name beyond ASCII) the JVM has already turned those characters into '?': say so, not how
   * the JVM failed.
   */
  private static java.nio.file.Path path(String value) {
    try {
      return java.nio.file.Path.of(value);
    } catch (java.nio.file.InvalidPathException e) {
      String charset = System.getProperty("sun.jnu.encoding", "this locale's");
      throw new CommandLine.TypeConversionException("'" + value + "' is not a file name here"
          + (value.indexOf('?') >= 0 || value.indexOf('\uFFFD') >= 0
              ? ": characters that the locale's character set (" + charset + ") cannot hold were "
                  + "lost; run under a UTF-8 locale (LC_ALL=C.UTF-8)"
              : " (" + e.getReason() + ")"));
    }
  }

  /** The subcommand the arguments named, or {@code mqa}. */
  private static String commandName(CommandLine cli) {
    CommandLine.ParseResult parsed = cli.getParseResult();
    return parsed != null && parsed.hasSubcommand()
        ? parsed.subcommand().commandSpec().name() : "mqa";
  }

  private static String prefix(String command) {
    return "mqa".equals(command) ? "mqa: " : "mqa " + command + ": ";
  }

  /** picocli's report of an exclusive group given twice, which names the group's internals. */
  private static final java.util.regex.Pattern GROUP_TWICE = java.util.regex.Pattern.compile(
      "Error: expected only one match but got \\[(.*?)\\]=\\{(.*?)\\} and \\[.*?\\]=\\{(.*?)\\}.*",
      java.util.regex.Pattern.DOTALL);

  /** picocli's messages as a user would say them, where they are not already. */
  static String plainer(String message) {
    java.util.regex.Matcher m = message == null ? null : GROUP_TWICE.matcher(message);
    if (m == null || !m.matches()) {
      // The prefix already says it is an error (picocli starts some messages with "Error: ").
      return message != null && message.startsWith("Error: ") ? message.substring(7) : message;
    }
    return "give one of " + m.group(1) + ", once; got " + m.group(2) + " and " + m.group(3);
  }

  private static String oneLine(String message) {
    return message == null ? "(no message)" : message.replace('\n', ' ').strip();
  }

  /** Prints the project version from the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Mqa.class.getPackage().getImplementationVersion();
      return new String[] {"mqa4j " + (v == null ? "(development build)" : v),
          "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
    }
  }
}
