package io.mqa4j.bench.cli;

/** Input the user can fix; the command line prints the message on one line and exits 2. */
public final class BadInputException extends RuntimeException {
  public BadInputException(String message) {
    super(message);
  }
}
