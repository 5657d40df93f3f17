package io.mqa4j.core.spi;

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
}
