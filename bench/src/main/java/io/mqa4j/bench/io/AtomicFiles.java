package io.mqa4j.bench.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** Writes files so that readers see the old file or the whole new one, never a part. */
public final class AtomicFiles {
  private AtomicFiles() {}

  /** Writes {@code bytes} beside {@code file} and moves them into place. */
  public static void write(Path file, byte[] bytes) throws IOException {
    Path target = file.toAbsolutePath();
    // Not Files.createTempFile: its owner-only permissions would carry over to the target.
    Path temp = target.resolveSibling("." + target.getFileName() + "." + ProcessHandle.current().pid()
        + "-" + Long.toHexString(System.nanoTime()) + ".tmp");
    if (Files.exists(target) && !Files.isRegularFile(target)) {
      // Moving a file over a device or a pipe would replace it, not write to it.
      throw new IOException(target + " exists and is not a regular file");
    }
    try {
      Files.write(temp, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      try {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new IOException("cannot write " + target + ": " + reason(e), e);
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  private static String reason(IOException e) {
    String why = e instanceof java.nio.file.FileSystemException f && f.getReason() != null
        ? f.getReason() : e.getMessage();
    return why == null ? e.getClass().getSimpleName() : why;
  }

  /** Writes {@code text} as UTF-8. */
  public static void write(Path file, String text) throws IOException {
    write(file, text.getBytes(StandardCharsets.UTF_8));
  }
}
