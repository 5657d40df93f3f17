package io.mqa4j.bench.compare;

import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.KvType;
import java.util.List;

/**
 * What {@code mqa compare} measures.
 *
 * @param phases {@code decode} and/or {@code prefill}
 * @param decodeContexts cached keys per decode step
 * @param prefillContexts prompt lengths for the causal prefill
 * @param queryHeads query heads of every layout
 * @param gqaKvHeads KV heads of the GQA layout
 * @param headDim elements per head
 * @param layouts {@code mha}, {@code gqa}, {@code mqa}
 * @param kernels {@code scalar}, {@code simd}
 * @param dtypes KV element types, as {@link io.mqa4j.core.KvType#label()} spells them
 * @param threads threads of the SIMD kernel (the scalar kernel always runs on one)
 * @param maxScalarPrefill longest prompt the scalar kernel prefills (it is slow: a 2048-token
 *     prefill takes it tens of seconds per step)
 * @param blockTokens tokens per block of the paged KV cache every row reads
 * @param budget how long each row warms up and measures
 */
public record CompareSettings(List<String> phases, List<Integer> decodeContexts,
    List<Integer> prefillContexts, int queryHeads, int gqaKvHeads, int headDim,
    List<String> layouts, List<String> kernels, List<String> dtypes, int threads,
    int maxScalarPrefill, int blockTokens, StepTimer.Budget budget) {

  public CompareSettings {
    phases = List.copyOf(present("phases", phases));
    decodeContexts = List.copyOf(present("decodeContexts", decodeContexts));
    prefillContexts = List.copyOf(present("prefillContexts", prefillContexts));
    layouts = List.copyOf(present("layouts", layouts));
    kernels = List.copyOf(present("kernels", kernels));
    dtypes = List.copyOf(present("dtypes", dtypes));
    if (budget == null) {
      throw new IllegalArgumentException("budget is missing");
    }
    if (budget.measureNanos() < 1 || budget.minSamples() < 1) {
      throw new IllegalArgumentException("budget must measure for > 0 ns and >= 1 sample, got "
          + budget);
    }
    check(phases, "phases", List.of("decode", "prefill"));
    check(layouts, "layouts", List.of("mha", "gqa", "mqa"));
    check(kernels, "kernels", List.of("scalar", "simd"));
    for (int c : decodeContexts) {
      atLeast("decodeContexts", c, 1);
    }
    for (int c : prefillContexts) {
      atLeast("prefillContexts", c, 1);
    }
    atLeast("queryHeads", queryHeads, 1);
    atLeast("gqaKvHeads", gqaKvHeads, 1);
    atLeast("headDim", headDim, 1);
    if (layouts.contains("gqa") && queryHeads % gqaKvHeads != 0) {
      throw new IllegalArgumentException("gqaKvHeads must divide queryHeads " + queryHeads
          + ", got " + gqaKvHeads);
    }
    if (dtypes.isEmpty()) {
      throw new IllegalArgumentException("dtypes must name at least one type");
    }
    for (String d : dtypes) {
      KvType type = KvType.parse(d);
      if (!type.supportsHeadDim(headDim)) {
        throw new IllegalArgumentException("dtypes " + d + " needs headDim to be a multiple of "
            + KvType.Q8_0_BLOCK + ", got " + headDim);
      }
    }
    if (threads < 1 || threads > AttentionKernels.MAX_THREADS) {
      throw new IllegalArgumentException("threads must be in [1, " + AttentionKernels.MAX_THREADS
          + "], got " + threads);
    }
    atLeast("maxScalarPrefill", maxScalarPrefill, 0);
    atLeast("blockTokens", blockTokens, 1);
  }

  private static <T> List<T> present(String name, List<T> list) {
    if (list == null) {
      throw new IllegalArgumentException(name + " is missing");
    }
    return list;
  }

  private static void check(List<String> given, String name, List<String> allowed) {
    if (given.isEmpty()) {
      throw new IllegalArgumentException(name + " must name at least one of " + allowed);
    }
    for (String g : given) {
      if (!allowed.contains(g)) {
        throw new IllegalArgumentException(name + " must be among " + allowed + ", got '" + g + "'");
      }
    }
  }

  private static void atLeast(String name, int value, int least) {
    if (value < least) {
      throw new IllegalArgumentException(name + " must be >= " + least + ", got " + value);
    }
  }

  /** KV heads of {@code layout} under these settings. */
  public int kvHeadsOf(String layout) {
    return switch (layout) {
      case "mha" -> queryHeads;
      case "gqa" -> gqaKvHeads;
      case "mqa" -> 1;
      default -> throw new IllegalArgumentException("layout must be mha, gqa or mqa, got '" + layout + "'");
    };
  }

  /** These settings for one layout and one element type. */
  public CompareSettings only(String layout, String dtype) {
    return new CompareSettings(phases, decodeContexts, prefillContexts, queryHeads, gqaKvHeads,
        headDim, List.of(layout), kernels, List.of(dtype), threads, maxScalarPrefill, blockTokens,
        budget);
  }
}
