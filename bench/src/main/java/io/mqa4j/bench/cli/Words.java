package io.mqa4j.bench.cli;

/** Counts in messages and headings: "1 layer", "2 layers". */
final class Words {
  private Words() {}

  static String count(long n, String one, String many) {
    return n + " " + (n == 1 ? one : many);
  }

  static String count(long n, String one) {
    return count(n, one, one + "s");
  }
}
