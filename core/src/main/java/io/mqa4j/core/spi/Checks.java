package io.mqa4j.core.spi;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/** Argument checks shared by public entry points and kernel implementations; messages name the argument and value. */
public final class Checks {
  private Checks() {}

  /** {@code n} and a noun for a message, {@code one} when {@code n} is 1, else {@code many}. */
  public static String count(long n, String one, String many) {
    return n + " " + (n == 1 ? one : many);
  }

  /** {@code n} and {@code noun} for a message, plural by an "s" unless {@code n} is 1: "1 block". */
  public static String count(long n, String noun) {
    return count(n, noun, noun + "s");
  }

  /**
   * Checks that {@code rows} rows of {@code rowFloats} floats from {@code offset} lie within an
   * array of {@code length}; the message names the array, its offset ({@code name + "Offset"})
   * and the count behind the size ({@code rowsName}, such as {@code numKeys}).
   */
  public static void range(String name, int length, int offset, String rowsName, long rows,
      long rowFloats) {
    if (offset < 0) {
      throw new IllegalArgumentException(name + "Offset must be >= 0, got " + offset);
    }
    long count = rows * rowFloats;
    if (offset + count > length) {
      throw new IllegalArgumentException(name + " has length " + length + ", too short for "
          + count + " floats from " + name + "Offset " + offset + " (" + rowsName + " " + rows
          + " of " + rowFloats + " floats each)");
    }
  }

  /**
   * Refuses memory this thread cannot read: of a closed arena, or of another thread's confined
   * one. An {@link IllegalStateException}, as the memory's own access would throw.
   */
  public static void usable(String name, MemorySegment segment) {
    if (!segment.scope().isAlive()) {
      throw new IllegalStateException(name + " belongs to a closed arena");
    }
    if (!segment.isAccessibleBy(Thread.currentThread())) {
      throw new IllegalStateException(name + " belongs to a confined arena of another thread");
    }
  }

  /**
   * Checks that {@code segment} is usable by this thread and holds {@code rows} rows of
   * {@code rowFloats} floats from its start; the message names it and the count behind the size.
   */
  public static void segment(String name, MemorySegment segment, String rowsName, long rows,
      long rowFloats) {
    Objects.requireNonNull(segment, name);
    usable(name, segment);
    long bytes;
    try {
      bytes = Math.multiplyExact(Math.multiplyExact(rows, rowFloats), (long) Float.BYTES);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(name + ": " + rowsName + " " + rows + " of " + rowFloats
          + " floats each are more bytes than a long holds");
    }
    if (segment.byteSize() < bytes) {
      throw new IllegalArgumentException(name + " holds " + segment.byteSize()
          + " bytes but needs " + bytes + " (" + rowsName + " " + rows + " of " + rowFloats
          + " floats each)");
    }
  }

  /** Block {@code block} of a single-block (contiguous) view, which is {@code segment} or none. */
  public static MemorySegment onlyBlock(int block, MemorySegment segment) {
    if (block != 0) {
      throw new IndexOutOfBoundsException("block " + block
          + " is out of range [0, 1): a contiguous view is one block");
    }
    return segment;
  }
}
