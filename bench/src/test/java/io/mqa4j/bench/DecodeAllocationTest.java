package io.mqa4j.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.ContiguousKvCache;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Decode runs once per token: over the same arrays and cache, a step allocates nothing. */
class DecodeAllocationTest {

  private static final int WARM_UP_ROUNDS = 5;

  @ParameterizedTest
  @ValueSource(strings = {"scalar", "simd"})
  void decodeOverArraysAndACacheAllocatesNothingPerStep(String name) throws Exception {
    AttentionShape shape = AttentionShape.gqa(4, 2, 32);
    AttentionKernel kernel = name.equals("simd") ? AttentionKernels.simd(1) : AttentionKernels.scalar();
    AttentionOptions options = AttentionOptions.defaults();
    float[] q = new float[shape.queryStride()];
    float[] out = new float[shape.queryStride()];
    float[] k = new float[8 * shape.kvStride()];
    float[] v = new float[8 * shape.kvStride()];
    java.util.Arrays.fill(q, 0.25f);
    java.util.Arrays.fill(k, 0.5f);
    java.util.Arrays.fill(v, 1f);
    try (ContiguousKvCache cache = new ContiguousKvCache(2, 32, 8)) {
      cache.append(8, k, 0, v, 0);
      // The probe's own allocation is the same with and without steps, so it cancels out.
      long none = allocatedOver(0, kernel, shape, options, q, cache, out);
      int steps = 2_000;
      // Until C2 has compiled the vector loops they box their vectors; on two busy cores that
      // can take longer than one warm-up. Steady state is what counts: warm up again, a bounded
      // number of times, while steps still allocate. Code that allocates on every step fails
      // every round.
      long bytes = Long.MAX_VALUE;
      for (int round = 0; round < WARM_UP_ROUNDS && bytes >= steps; round++) {
        for (int i = 0; i < 20_000; i++) {
          kernel.decode(shape, options, q, 0, cache, out, 0);
        }
        bytes = allocatedOver(steps, kernel, shape, options, q, cache, out) - none;
      }
      // Wrapping q and out anew on each step costs tens of bytes a step.
      assertTrue(bytes < steps, name + ": " + bytes + " bytes allocated over " + steps
          + " decode steps after " + WARM_UP_ROUNDS + " warm-ups");
    }
  }

  private static long allocatedOver(int steps, AttentionKernel kernel, AttentionShape shape,
      AttentionOptions options, float[] q, ContiguousKvCache cache, float[] out) throws Exception {
    long before = ThreadAllocation.bytes();
    for (int i = 0; i < steps; i++) {
      kernel.decode(shape, options, q, 0, cache, out, 0);
    }
    return ThreadAllocation.bytes() - before;
  }
}
