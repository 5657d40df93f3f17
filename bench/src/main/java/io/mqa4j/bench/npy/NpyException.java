package io.mqa4j.bench.npy;

import java.io.IOException;

/** A {@code .npy} file that cannot be read; the message names the file and the problem. */
public final class NpyException extends IOException {
  public NpyException(String message) {
    super(message);
  }
}
