package io.mqa4j.core.spi;

/** Argument checks shared by public entry points and kernel implementations; messages name the argument and value. */
public final class Checks {
  private Checks() {}

  /** Checks that {@code [offset, offset + count)} lies within an array of {@code length}. */
  public static void range(String name, int length, int offset, long count) {
    if (offset < 0 || offset + count > length) {
      throw new IllegalArgumentException(name + " needs " + count + " floats from offset " + offset
          + " but has length " + length);
    }
  }
}
