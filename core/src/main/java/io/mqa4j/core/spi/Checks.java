package io.mqa4j.core.spi;

import java.lang.foreign.MemorySegment;

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

  /** Checks that {@code [offset, offset + count)} lies within an array of {@code length}. */
  public static void range(String name, int length, int offset, long count) {
    if (offset < 0 || offset + count > length) {
      throw new IllegalArgumentException(name + " needs " + count + " floats from offset " + offset
          + " but has length " + length);
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
