package io.mqa4j.bench.compare;

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
    phases = List.copyOf(phases);
    decodeContexts = List.copyOf(decodeContexts);
    prefillContexts = List.copyOf(prefillContexts);
    layouts = List.copyOf(layouts);
    kernels = List.copyOf(kernels);
    dtypes = List.copyOf(dtypes);
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

  /** These settings for one layout, every KV type. */
  public CompareSettings only(String layout) {
    return new CompareSettings(phases, decodeContexts, prefillContexts, queryHeads, gqaKvHeads,
        headDim, List.of(layout), kernels, dtypes, threads, maxScalarPrefill, blockTokens,
        budget);
  }

  /** These settings for one layout and one element type. */
  public CompareSettings only(String layout, String dtype) {
    return new CompareSettings(phases, decodeContexts, prefillContexts, queryHeads, gqaKvHeads,
        headDim, List.of(layout), kernels, List.of(dtype), threads, maxScalarPrefill, blockTokens,
        budget);
  }
}
