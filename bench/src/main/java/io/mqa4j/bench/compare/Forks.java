package io.mqa4j.bench.compare;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs a command of the {@code mqa} command line in a fresh JVM, as JMH forks its benchmarks.
 * Timing everything in one JVM lets one measurement's JIT profile spoil the next (measured: the
 * roofline's FMA loop, run first, left the kernels' vector FMAs uncompiled, 40% slower).
 */
public final class Forks {
  private Forks() {}

  /**
   * The hidden option by which a parent names the file a forked command writes its result to
   * (see {@link #emit}). Not stdout: options the child inherits (such as {@code -Xlog:gc}) may
   * have the JVM print there too, at any moment. An option, not a system property, so that
   * nothing in the environment can redirect a command a user runs.
   */
  public static final String RESULT_OPTION = "--result-file";

  /**
   * What the child emitted (see {@link #emit}), once it has exited 0. Failures of the fork itself
   * throw {@link ForkFailedException}; a child that refused its input, {@link
   * IllegalArgumentException} with the child's message.
   */
  public static String run(Class<?> main, List<String> args, Consumer<String> stderrLine)
      throws InterruptedException {
    Path result = resultFile();
    try {
      return run(main, args, stderrLine, result);
    } finally {
      try {
        Files.deleteIfExists(result);
      } catch (IOException ignored) {
        // a temporary file; the system cleans its temporary directory
      }
    }
  }

  /**
   * A new, empty file for a child's result. Made by hand rather than by
   * {@code Files.createTempFile}, whose class fails to initialise on a {@code java.io.tmpdir}
   * the platform cannot encode: here that is a one-line failure.
   */
  private static Path resultFile() {
    String dir = System.getProperty("java.io.tmpdir");
    try {
      Path file = Path.of(dir).resolve("mqa-fork-" + ProcessHandle.current().pid() + "-"
          + Long.toHexString(System.nanoTime()) + ".json");
      return Files.createFile(file); // fails if the name is taken, links included
    } catch (IOException | RuntimeException e) {
      throw new ForkFailedException("cannot make a file for a forked measurement's result in "
          + "java.io.tmpdir '" + dir + "': " + e);
    }
  }

  /**
   * Prints {@code json}, a command's result: to {@code resultFile} when a parent named one (this
   * JVM is its fork), else to {@code stdout}.
   */
  public static void emit(PrintWriter stdout, Path resultFile, String json) {
    if (resultFile == null) {
      stdout.println(json);
      stdout.flush();
      return;
    }
    try {
      Files.writeString(resultFile, json);
    } catch (IOException e) { // the machine's fault, not the input's: exit 1, not 2
      throw new ForkFailedException("cannot write the result for the parent to " + resultFile
          + ": " + e);
    }
  }

  private static String run(Class<?> main, List<String> args, Consumer<String> stderrLine,
      Path result) throws InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command()
        .orElseThrow(() -> new ForkFailedException("cannot tell which java runs this process")));
    for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      // The child's stderr is a pipe to this process, whatever the launcher said of ours.
      if (!arg.startsWith("-XX:StartFlightRecording") && !arg.startsWith("-agentlib")
          && !arg.startsWith("-javaagent") && !arg.startsWith("-Dmqa4j.stderr.tty")) {
        command.add(arg);
      }
    }
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(main.getName());
    command.addAll(args);
    command.add(RESULT_OPTION);
    command.add(result.toString());
    ProcessBuilder builder = new ProcessBuilder(command);
    // The launcher and the JVM put these variables' options among this JVM's arguments, which
    // the child gets above, filtered: inherited, a recording asked for there would start again
    // in the child, over the parent's file.
    builder.environment().remove("JDK_JAVA_OPTIONS");
    builder.environment().remove("JAVA_TOOL_OPTIONS");
    builder.redirectOutput(ProcessBuilder.Redirect.DISCARD);
    Process process;
    try {
      process = builder.start();
      process.getOutputStream().close();
    } catch (IOException e) {
      throw new ForkFailedException("cannot start a JVM for a forked measurement: "
          + e.getMessage());
    }
    // Stopped (Ctrl-C, a signal) or interrupted, the parent takes its child and its result
    // file with it: neither may outlive it.
    Thread cleanup = new Thread(() -> stop(process, result));
    try {
      Runtime.getRuntime().addShutdownHook(cleanup);
    } catch (IllegalStateException shuttingDown) { // stopped between the start and now
      stop(process, result);
      throw new ForkFailedException("stopped while starting a forked measurement");
    }
    try {
      return await(process, args, stderrLine, result);
    } catch (InterruptedException e) {
      stop(process, result);
      throw e;
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(cleanup);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs, or has run
      }
    }
  }

  /** Ends {@code process}, waiting a little for it, and removes its result file. */
  private static void stop(Process process, Path result) {
    process.destroy();
    try {
      if (!process.waitFor(2, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    try {
      Files.deleteIfExists(result);
    } catch (IOException ignored) {
      // a temporary file; the system cleans its temporary directory
    }
  }

  private static String await(Process process, List<String> args, Consumer<String> stderrLine,
      Path result) throws InterruptedException {
    List<String> errors = new ArrayList<>();
    Thread drain = Thread.ofPlatform().daemon().start(() -> {
      try (BufferedReader err = new BufferedReader(
          new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = err.readLine()) != null; ) {
          if (!line.startsWith("WARNING: Using incubator modules")) {
            errors.add(line);
            stderrLine.accept(line);
          }
        }
      } catch (IOException ignored) {
        // the child is gone; its exit code tells the rest
      }
    });
    int code = process.waitFor();
    drain.join();
    if (code == 128 + 2 || code == 128 + 15) {
      // Stopped by SIGINT or SIGTERM: most likely the Ctrl-C that stops this JVM too, whose
      // shutdown then halts it within this wait. Only a child stopped alone goes on. (A crash,
      // 134, or the OOM killer's 137, is reported below with the child's last line.)
      Thread.sleep(2000);
      throw new ForkFailedException("a forked measurement (" + shortened(args)
          + ") was stopped by signal " + (code - 128));
    }
    if (code != 0) {
      // The child's own last word: its JVM may log on stderr after it (-Xlog:...:stderr).
      String last = errors.stream().filter(l -> l.startsWith("mqa ")).reduce((a, b) -> b)
          .or(() -> errors.stream().filter(l -> !l.startsWith(PROGRESS)).reduce((a, b) -> b))
          .orElse("");
      if (code == BAD_INPUT && last.startsWith("mqa ")) {
        // The child refused what it was given, which the parent passed on from the user: say it
        // as the child did, without the child's command line.
        throw new IllegalArgumentException(last.substring(last.indexOf(": ") + 2));
      }
      throw new ForkFailedException("a forked measurement (" + shortened(args)
          + ") failed with exit code " + code + (last.isEmpty() ? "" : ": " + last));
    }
    try {
      return Files.readString(result);
    } catch (IOException e) {
      throw new ForkFailedException("cannot read a forked measurement's result: "
          + e.getMessage());
    }
  }

  /** A fork's arguments for a message, long ones (a compare's settings) cut short. */
  private static String shortened(List<String> args) {
    return args.stream().map(a -> a.length() > 40 ? a.substring(0, 37) + "..." : a)
        .collect(java.util.stream.Collectors.joining(" "));
  }

  /** The JSON a forked {@code command} printed, as {@code type}. */
  public static <T> T parse(String json, Class<T> type, String command) {
    try {
      return ReportFiles.json().readValue(json, type);
    } catch (IOException e) {
      String first = json.strip().lines().findFirst().orElse("");
      throw new ForkFailedException("a forked " + command + " gave something other than its "
          + "result" + (first.isEmpty() ? " (nothing)" : ", beginning '"
          + first.substring(0, Math.min(80, first.length())) + "'"));
    }
  }

  /**
   * A forked measurement failed for a reason of its own, not of the user's input: the command
   * exits 1, not 2.
   */
  public static final class ForkFailedException extends RuntimeException {
    ForkFailedException(String message) {
      super(message);
    }
  }

  /** The exit code of a command refusing its input (as {@code Mqa.BAD_INPUT}). */
  private static final int BAD_INPUT = 2;

  /** Prefix of the stderr lines by which a forked compare reports each finished row. */
  public static final String PROGRESS = "mqa-progress: ";
}
