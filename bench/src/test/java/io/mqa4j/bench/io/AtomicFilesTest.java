package io.mqa4j.bench.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A set of files is replaced whole or not at all. */
class AtomicFilesTest {

  @TempDir
  Path dir;

  @Test
  void aFileThatCannotBeReplacedLeavesTheOldSetAsItWas() throws IOException {
    Path out = Files.createDirectories(dir.resolve("out"));
    Files.writeString(out.resolve("a.json"), "old");
    Files.createDirectories(out.resolve("b.png")); // no file can be moved over a directory
    Files.writeString(out.resolve("b.png").resolve("keep"), "x");
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("a.json", "new".getBytes());
    files.put("b.png", new byte[] {1, 2, 3});
    IOException e = assertThrows(IOException.class,
        () -> AtomicFiles.replaceAll(out, files, List.of("a.json", "b.png")));
    assertTrue(e.getMessage().contains("b.png"), e.getMessage());
    assertEquals("old", Files.readString(out.resolve("a.json")));
    assertTrue(Files.isDirectory(out.resolve("b.png")));
    try (Stream<Path> left = Files.list(out)) {
      assertEquals(2, left.count(), "no staged files left behind");
    }
  }

  @Test
  void aDanglingLinkInTheWayOfTheDirectoryIsLeftAlone() throws IOException {
    Path link = Files.createSymbolicLink(dir.resolve("out"), dir.resolve("nowhere"));
    Map<String, byte[]> files = Map.of("a.json", "new".getBytes());
    IOException e = assertThrows(IOException.class,
        () -> AtomicFiles.replaceAll(link, files, List.of("a.json")));
    assertTrue(e.getMessage().contains("cannot create the directory"), e.getMessage());
    assertTrue(Files.isSymbolicLink(link), "the link was removed");
    assertEquals(dir.resolve("nowhere"), Files.readSymbolicLink(link));
  }

  /** Writes a file, then exits with a shutdown hook of its own that writes another. */
  public static final class WriteFromAHook {
    public static void main(String[] args) throws Exception {
      AtomicFiles.write(Path.of(args[0]), "first"); // loads the class and its hook
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          Thread.sleep(200); // after the library's hook has taken the lock
          AtomicFiles.write(Path.of(args[1]), "from a hook");
        } catch (Exception e) {
          System.err.println("refused: " + e.getMessage());
        }
      }));
      System.exit(0);
    }
  }

  @Test
  void aWriteFromAnotherShutdownHookFailsRatherThanHangTheJvm() throws Exception {
    Path first = dir.resolve("first.txt");
    Path second = dir.resolve("second.txt");
    Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "-cp",
        System.getProperty("java.class.path"), WriteFromAHook.class.getName(), first.toString(),
        second.toString()).redirectErrorStream(true).start();
    boolean ended = p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS);
    if (!ended) {
      p.destroyForcibly().waitFor(); // a JVM that hangs in its shutdown takes SIGKILL alone
    }
    assertTrue(ended, "the JVM ended within 20 s of its exit");
    String output = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.exitValue(), output);
    assertEquals("first", Files.readString(first));
    assertTrue(output.contains("refused: the JVM is shutting down"), output);
    assertTrue(!Files.exists(second), "nothing written once the JVM is ending");
  }
}
