package io.mqa4j.bench.compare;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
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

  /** What the child printed on stdout, once it has exited 0. */
  public static String run(Class<?> main, List<String> args, Consumer<String> stderrLine)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command()
        .orElseThrow(() -> new IOException("cannot tell which java runs this process")));
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
    Process process = new ProcessBuilder(command).start();
    process.getOutputStream().close();
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
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int code = process.waitFor();
    drain.join();
    if (code != 0) {
      String last = errors.stream().filter(l -> !l.startsWith(PROGRESS)).reduce((a, b) -> b).orElse("");
      if (code == BAD_INPUT && last.startsWith("mqa ")) {
        // The child refused what it was given, which the parent passed on from the user: say it
        // as the child did, without the child's command line.
        throw new IllegalArgumentException(last.substring(last.indexOf(": ") + 2));
      }
      throw new IOException("a forked measurement (" + String.join(" ", args) + ") failed with exit code "
          + code + (last.isEmpty() ? "" : ": " + last));
    }
    return out;
  }

  /** The exit code of a command refusing its input (as {@code Mqa.BAD_INPUT}). */
  private static final int BAD_INPUT = 2;

  /** Prefix of the stderr lines by which a forked compare reports each finished row. */
  public static final String PROGRESS = "mqa-progress: ";
}
