package io.mqa4j.bench.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Writes files so that readers see the old file or the whole new one, never a part. An interrupt
 * (SIGINT, SIGTERM) that comes while files are being written waits for the write to finish or
 * roll back before the JVM ends.
 */
public final class AtomicFiles {
  private AtomicFiles() {}

  /**
   * Held while files are written or replaced. The shutdown hook takes it (waiting up to
   * {@link #FINISH_SECONDS}) and keeps it, so a write in progress completes (or puts the old files
   * back) before the JVM halts, and none starts after.
   */
  private static final ReentrantLock WRITING = new ReentrantLock();

  /** Sets the hidden names apart within one nanosecond. */
  private static final java.util.concurrent.atomic.AtomicLong NAMES = new java.util.concurrent.atomic.AtomicLong();

  /** Set by the shutdown hook: a write that cannot start at once then fails instead of waiting. */
  private static volatile boolean shuttingDown;

  /** The longest the shutdown hook waits for a write in progress. */
  private static final long FINISH_SECONDS = 30;

  static {
    try {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        shuttingDown = true;
        try {
          // Bounded: a write stuck on a hung file system, or an exit from inside a write, must
          // not keep the JVM from ending.
          WRITING.tryLock(FINISH_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "mqa-finish-writing"));
    } catch (IllegalStateException loadedDuringShutdown) {
      shuttingDown = true; // no write can be in progress, and none should start
    }
  }

  /**
   * Takes the write lock. During shutdown a write that would have to wait for it fails at once:
   * from another shutdown hook it would wait for a hook that waits for it.
   */
  private static void lock() throws IOException {
    try {
      while (!WRITING.tryLock(100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
        if (shuttingDown) {
          throw new IOException("the JVM is shutting down");
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted before writing");
    }
  }

  /** A hidden name beside the files of {@code dir}, short whatever their names' length. */
  private static Path sibling(Path dir, String suffix) {
    return dir.resolve(".mqa-" + ProcessHandle.current().pid() + "-"
        + Long.toHexString(System.nanoTime()) + "-" + NAMES.incrementAndGet() + suffix);
  }

  /** What a file holds, written to a stream. */
  public interface Content {
    void writeTo(java.io.OutputStream out) throws IOException;
  }

  /** Writes {@code bytes} beside {@code file} and moves them into place. */
  public static void write(Path file, byte[] bytes) throws IOException {
    write(file, out -> out.write(bytes));
  }

  /**
   * Writes {@code content} beside {@code file} and moves it into place: streamed, so a file may
   * be larger than an array holds.
   */
  public static void write(Path file, Content content) throws IOException {
    Path target = file.toAbsolutePath();
    // Not Files.createTempFile: its owner-only permissions would carry over to the target. Not
    // named after the target: a name near the length limit would leave no room for a suffix.
    Path temp = sibling(target.getParent(), ".tmp");
    if (Files.exists(target) && !Files.isRegularFile(target)) {
      // Moving a file over a device or a pipe would replace it, not write to it.
      throw new IOException(target + " exists and is not a regular file");
    }
    lock();
    try {
      try (java.io.OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(temp,
          StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), 1 << 16)) {
        content.writeTo(out);
      }
      move(temp, target);
    } catch (IOException e) {
      throw new IOException("cannot write " + target + ": " + reason(e), e);
    } finally {
      try {
        Files.deleteIfExists(temp);
      } finally {
        WRITING.unlock();
      }
    }
  }

  /**
   * Makes the files of {@code dir} named in {@code managed} exactly {@code files} (a subset of
   * them, name to bytes), creating {@code dir} if need be: stages each new file beside its target,
   * keeps a copy of each file it replaces or removes, then moves the new ones in. On any failure
   * it puts the old files back and removes the directories it created, so {@code dir} holds the
   * old set whole or the new one whole. The exception says which step failed and why.
   */
  public static void replaceAll(Path dir, Map<String, byte[]> files, List<String> managed)
      throws IOException {
    lock();
    try {
      replaceAllLocked(dir.toAbsolutePath(), files, managed);
    } finally {
      WRITING.unlock();
    }
  }

  private static void replaceAllLocked(Path target, Map<String, byte[]> files, List<String> managed)
      throws IOException {
    Path firstCreated = null;
    // Not following links: a dangling link in the way exists, and must not be removed on failure.
    for (Path p = target; p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS);
        p = p.getParent()) {
      firstCreated = p;
    }
    Map<String, Path> staged = new LinkedHashMap<>();
    Map<String, Path> backups = new LinkedHashMap<>();
    List<String> placed = new ArrayList<>();
    String doing = "cannot create the directory";
    try {
      Files.createDirectories(target);
      for (Map.Entry<String, byte[]> e : files.entrySet()) {
        doing = "cannot write " + e.getKey();
        Path temp = sibling(target, ".tmp");
        staged.put(e.getKey(), temp);
        Files.write(temp, e.getValue(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      }
      for (String name : managed) {
        doing = "cannot write " + name;
        Path file = target.resolve(name);
        Path temp = staged.get(name);
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
          Path backup = sibling(target, ".old");
          if (temp == null) {
            move(file, backup); // the new set has no such file: the old one goes
          } else {
            Files.copy(file, backup, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
          }
          backups.put(name, backup);
        }
        if (temp != null) {
          move(temp, file);
          placed.add(name);
        }
      }
    } catch (IOException | RuntimeException | Error failure) {
      List<IOException> undo = new ArrayList<>();
      backups.forEach((name, backup) -> {
        Path file = target.resolve(name);
        if (placed.contains(name) || !staged.containsKey(name)) {
          quietly(undo, () -> move(backup, file)); // replaced or moved away: put it back
        } else {
          quietly(undo, () -> Files.deleteIfExists(backup)); // never replaced
        }
      });
      for (String name : placed) {
        if (!backups.containsKey(name)) {
          quietly(undo, () -> Files.deleteIfExists(target.resolve(name)));
        }
      }
      staged.values().forEach(temp -> quietly(undo, () -> Files.deleteIfExists(temp)));
      for (Path p = target; firstCreated != null && p != null && p.startsWith(firstCreated); p = p.getParent()) {
        Path created = p;
        if (!quietly(undo, () -> Files.deleteIfExists(created))) {
          break;
        }
      }
      if (failure instanceof IOException io) {
        IOException said = new IOException(doing + where(io, target) + ": " + reason(io), io);
        undo.forEach(said::addSuppressed);
        throw said;
      }
      undo.forEach(failure::addSuppressed);
      throw failure;
    }
    List<IOException> ignored = new ArrayList<>();
    backups.values().forEach(backup -> quietly(ignored, () -> Files.deleteIfExists(backup)));
  }

  /**
   * Fails as writing into {@code dir} would: makes the directories missing on the way and a
   * hidden file in it, then removes what it made, leaving the file system as it was.
   */
  public static void probe(Path dir) throws IOException {
    Path target = dir.toAbsolutePath();
    List<Path> created = new ArrayList<>();
    for (Path p = target; p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS); p = p.getParent()) {
      created.add(p); // deepest first
    }
    String doing = "cannot create the directory";
    lock();
    try {
      Files.createDirectories(target);
      doing = "cannot write a file in it";
      Files.delete(Files.write(sibling(target, ".probe"), new byte[0], StandardOpenOption.CREATE_NEW));
    } catch (IOException e) {
      throw new IOException(doing + where(e, target) + ": " + reason(e), e);
    } finally {
      try {
        List<IOException> ignored = new ArrayList<>();
        for (Path p : created) {
          quietly(ignored, () -> Files.deleteIfExists(p));
        }
      } finally {
        WRITING.unlock();
      }
    }
  }

  private interface IoAction {
    void run() throws IOException;
  }

  /** Runs {@code action}, noting a failure instead of throwing it; whether it succeeded. */
  private static boolean quietly(List<IOException> failures, IoAction action) {
    try {
      action.run();
      return true;
    } catch (DirectoryNotEmptyException e) {
      return false;
    } catch (IOException e) {
      failures.add(e);
      return false;
    }
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** The path a failure concerns when it is not {@code dir} itself nor a file in it, else "". */
  private static String where(IOException e, Path dir) {
    if (e instanceof FileSystemException f && f.getFile() != null) {
      Path p = Path.of(f.getFile()).toAbsolutePath();
      if (!p.equals(dir) && !dir.equals(p.getParent())) {
        return " (at " + p + ")";
      }
    }
    return "";
  }

  /** Why an I/O operation failed, in words, even when the exception carries none. */
  public static String reason(IOException e) {
    if (e instanceof FileSystemException f && f.getReason() != null) {
      return f.getReason();
    }
    return switch (e) {
      case AccessDeniedException a -> "permission denied";
      case NoSuchFileException n -> "no such file or directory";
      case FileAlreadyExistsException x -> "a file of that name is in the way";
      case NotDirectoryException n -> "not a directory";
      case DirectoryNotEmptyException d -> "a directory of that name is in the way";
      case FileSystemException f -> e.getClass().getSimpleName();
      default -> e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    };
  }

  /** Writes {@code text} as UTF-8. */
  public static void write(Path file, String text) throws IOException {
    write(file, text.getBytes(StandardCharsets.UTF_8));
  }
}
