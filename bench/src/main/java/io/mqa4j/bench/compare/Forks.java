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
import java.util.function.Consumer;

/**
 * Runs a command of the {@code mqa} command line in a fresh JVM, as JMH forks its benchmarks.
 * Timing everything in one JVM lets one measurement's JIT profile spoil the next (measured: the
 * roofline's FMA loop, run first, left the kernels' vector FMAs uncompiled, 40% slower).
 */
public final class Forks {
  private Forks() {}

  /**
   * The system property naming the file a forked command writes its result to (see
   * {@link #emit}). Not stdout: options the child inherits (such as {@code -Xlog:gc}) may have
   * the JVM print there too, at any moment.
   */
  static final String RESULT_PROPERTY = "mqa4j.fork.result";

  /**
   * What the child emitted (see {@link #emit}), once it has exited 0. Failures of the fork itself
   * throw {@link ForkFailedException}; a child that refused its input, {@link
   * IllegalArgumentException} with the child's message.
   */
  public static String run(Class<?> main, List<String> args, Consumer<String> stderrLine)
      throws InterruptedException {
    Path result;
    try {
      result = Files.createTempFile("mqa-fork-", ".json");
    } catch (IOException e) {
      throw new ForkFailedException("cannot make a file for a forked measurement's result: "
          + e.getMessage());
    }
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
   * Prints {@code json}, a command's result: to the file a parent named, when this JVM is a
   * fork, else to {@code stdout}.
   */
  public static void emit(PrintWriter stdout, String json) throws IOException {
    String file = System.getProperty(RESULT_PROPERTY);
    if (file == null) {
      stdout.println(json);
      stdout.flush();
    } else {
      Files.writeString(Path.of(file), json);
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
          && !arg.startsWith("-javaagent") && !arg.startsWith("-Dmqa4j.stderr.tty")
          && !arg.startsWith("-D" + RESULT_PROPERTY + "=")) {
        command.add(arg);
      }
    }
    command.add("-D" + RESULT_PROPERTY + "=" + result);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(main.getName());
    command.addAll(args);
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
    if (code != 0) {
      String last = errors.stream().filter(l -> !l.startsWith(PROGRESS)).reduce((a, b) -> b).orElse("");
      if (code == BAD_INPUT && last.startsWith("mqa ")) {
        // The child refused what it was given, which the parent passed on from the user: say it
        // as the child did, without the child's command line.
        throw new IllegalArgumentException(last.substring(last.indexOf(": ") + 2));
      }
      throw new ForkFailedException("a forked measurement (" + String.join(" ", args)
          + ") failed with exit code " + code + (last.isEmpty() ? "" : ": " + last));
    }
    try {
      return Files.readString(result);
    } catch (IOException e) {
      throw new ForkFailedException("cannot read a forked measurement's result: "
          + e.getMessage());
    }
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
