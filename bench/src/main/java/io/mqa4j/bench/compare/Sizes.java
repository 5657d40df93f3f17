package io.mqa4j.bench.compare;

import java.util.Locale;

/** Human-readable figures for tables: binary sizes (KiB, MiB, GiB) and durations. */
public final class Sizes {
  private Sizes() {}

  /** {@code 512 B}, {@code 16.0 KiB}, {@code 1.50 GiB}. */
  public static String bytes(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    double value = bytes;
    int unit = -1;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    // Just under a unit, rounding would print "1024 KiB": show it as the next unit instead.
    if (value >= 1023.5 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return String.format(Locale.ROOT, value >= 99.95 ? "%.0f %s" : value >= 9.995 ? "%.1f %s" : "%.2f %s",
        value, units[unit]);
  }

  /** A duration given in microseconds: {@code 812 us}, {@code 15.3 ms}, {@code 2.41 s}. */
  public static String micros(double micros) {
    if (micros < 1000) {
      return String.format(Locale.ROOT, micros < 10 ? "%.2f us" : micros < 100 ? "%.1f us" : "%.0f us", micros);
    }
    if (micros < 1_000_000) {
      double ms = micros / 1000;
      return String.format(Locale.ROOT, ms < 10 ? "%.2f ms" : ms < 100 ? "%.1f ms" : "%.0f ms", ms);
    }
    return String.format(Locale.ROOT, "%.2f s", micros / 1e6);
  }

  /** A rate with three significant figures or so: {@code 0.52}, {@code 34.5}, {@code 1234}. */
  public static String rate(double value) {
    if (value >= 100) {
      return String.format(Locale.ROOT, "%.0f", value);
    }
    return String.format(Locale.ROOT, value >= 10 ? "%.1f" : "%.2f", value);
  }
}
