package io.mqa4j.bench.cli;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.KvType;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** Turns command-line names into kernels and KV types, with errors that name the option. */
final class Kernels {
  private Kernels() {}

  /** {@code scalar}, {@code simd} or {@code best}, on {@code threads} threads (null: all). */
  static AttentionKernel byName(String name, Integer threads) {
    if (threads != null) {
      checkThreads(threads);
    }
    int n = threads == null ? AttentionKernels.defaultThreads() : threads;
    return switch (name.strip().toLowerCase(Locale.ROOT)) {
      case "scalar" -> AttentionKernels.scalar();
      case "simd" -> simd(n);
      case "best" -> AttentionKernels.simdAvailable() ? simd(n) : AttentionKernels.scalar();
      default -> throw new BadInputException("--kernel must be scalar, simd or best, got '" + name + "'");
    };
  }

  /** Refuses a {@code --threads} value outside [1, {@link AttentionKernels#MAX_THREADS}]. */
  static void checkThreads(int threads) {
    if (threads < 1 || threads > AttentionKernels.MAX_THREADS) {
      throw new BadInputException("--threads must be in [1, " + AttentionKernels.MAX_THREADS
          + "], got " + threads);
    }
  }

  private static AttentionKernel simd(int threads) {
    try {
      return AttentionKernels.simd(threads);
    } catch (IllegalStateException e) {
      throw new BadInputException("--kernel simd is not available: " + e.getMessage());
    }
  }

  /** Parses a KV element type given to {@code option}. */
  static KvType kvType(String option, String text) {
    try {
      return KvType.parse(text.strip());
    } catch (IllegalArgumentException e) {
      throw new BadInputException(option + ": " + e.getMessage());
    }
  }

  /**
   * As {@link #kvType(String, String)}, for an option that also takes {@code other} (a name the
   * caller has already handled): the message names every value the option takes.
   */
  static KvType kvType(String option, String text, String other) {
    try {
      return KvType.parse(text.strip());
    } catch (IllegalArgumentException e) {
      throw new BadInputException(option + " must be " + other + " or a KV type ("
          + Arrays.stream(KvType.values()).map(KvType::label).collect(Collectors.joining(", "))
          + "), got '" + text.strip() + "'");
    }
  }
}
