package io.mqa4j.bench.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.bench.cli.Mqa;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** A forked command's refusal reaches the user as the child said it, not as a failed fork. */
class ForksTest {

  @Test
  void aChildRefusingItsInputIsBadInputInTheParent() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Forks.run(Mqa.class, List.of("roofline", "--json", "--threads", "0"), line -> { }));
    assertEquals("--threads must be in [1, 1024], got 0", e.getMessage());
  }

  @Test
  void whatTheChildsJvmPrintsOnStdoutDoesNotMixWithItsResult() throws InterruptedException {
    // As -Xlog:gc or -verbose:gc in JDK_JAVA_OPTIONS would have the child's JVM do.
    assertEquals("[1, 2]", Forks.run(NoisyChild.class, List.of(), line -> { }));
  }

  @Test
  void noResultFileOutlivesTheRunWhateverTheChildDid() throws Exception {
    Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
    long before = forkFiles(tmp);
    Forks.run(NoisyChild.class, List.of(), line -> { });
    assertThrows(IllegalArgumentException.class,
        () -> Forks.run(Mqa.class, List.of("roofline", "--json", "--threads", "0"), line -> { }));
    assertEquals(before, forkFiles(tmp));
  }

  private static long forkFiles(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> f.getFileName().toString().startsWith("mqa-fork-")).count();
    }
  }

  @Test
  void aResultThatCannotBeWrittenIsTheToolsFaultNotTheUsers() {
    Forks.ForkFailedException e = assertThrows(Forks.ForkFailedException.class,
        () -> Forks.emit(new PrintWriter(System.out), Path.of("/nonexistent-mqa-dir/r.json"), "{}"));
    assertTrue(e.getMessage().startsWith("cannot write the result for the parent to "
        + "/nonexistent-mqa-dir/r.json"), e.getMessage());
  }

  @Test
  void theChildsRefusalIsFoundAmongLinesItsJvmLogsAfterIt() {
    // As -Xlog:gc+heap+exit:stderr would have the child's JVM log after the refusal.
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Forks.run(RefusingChild.class, List.of(), line -> { }));
    assertEquals("--contexts too large", e.getMessage());
  }

  /** A forked command that refuses its input, its JVM logging a line after the refusal. */
  public static final class RefusingChild {
    public static void main(String[] args) {
      System.err.println("mqa compare: --contexts too large");
      System.err.println("[1.0s][info][gc,heap,exit] Heap");
      System.exit(2);
    }
  }

  /** A forked command whose JVM logs on stdout before and after the result. */
  public static final class NoisyChild {
    public static void main(String[] args) throws Exception {
      System.out.println("[0.003s][info][gc] Using G1");
      Forks.emit(new PrintWriter(System.out, true), Path.of(args[1]), "[1, 2]");
      System.out.println("[0.412s][info][gc] Pause Young 4M->1M");
    }
  }

  @Test
  void aChildPrintingSomethingElseBeforeItsJsonFailsAsTheToolsFaultNotTheUsers() {
    // What a child printed when a JFR recording inherited through JDK_JAVA_OPTIONS logged first.
    Forks.ForkFailedException e = assertThrows(Forks.ForkFailedException.class,
        () -> Forks.parse("[0.457s][info][jfr,startup] Started recording 1.\n{}", int[].class,
            "roofline"));
    assertTrue(e.getMessage().startsWith("a forked roofline gave something other than its "
        + "result, beginning '[0.457s][info][jfr,startup]"), e.getMessage());
    Forks.ForkFailedException none = assertThrows(Forks.ForkFailedException.class,
        () -> Forks.parse("", int[].class, "compare"));
    assertTrue(none.getMessage().endsWith("(nothing)"), none.getMessage());
  }
}
