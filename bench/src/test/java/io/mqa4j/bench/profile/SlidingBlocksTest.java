package io.mqa4j.bench.profile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvType;
import io.mqa4j.core.PagedKvCache;
import org.junit.jupiter.api.Test;

/**
 * The blocks the profile counts for a sliding-window layer are the most a {@link PagedKvCache}
 * holds for one sequence when each decode step first gives back what its window has passed.
 */
class SlidingBlocksTest {

  @Test
  void theProfileCountsWhatAPagedCacheHoldsWhenItReleasesPassedBlocks() {
    float[] token = new float[2];
    for (int blockTokens : new int[] {1, 4, 8, 16}) {
      for (int window : new int[] {1, 5, 8, 9, 37, 64}) {
        try (PagedKvCache cache = PagedKvCache.builder(1, 2).type(KvType.F32)
            .blockTokens(blockTokens).capacityBlocks(200).build()) {
          KvSequence seq = cache.newSequence();
          int most = 0;
          for (int context = 1; context <= 150; context++) {
            cache.append(seq, token, 0, token, 0);
            int position = context - 1;
            cache.releaseBefore(seq, position - window + 1); // what this step's query sees stays
            most = Math.max(most, cache.usedBlocks());
            long counted = KvProfile.slidingBlocks(window, cache.footprint(), context);
            String what = "window " + window + ", blocks of " + blockTokens + ", " + context
                + " tokens";
            assertTrue(most <= counted, what + ": the cache held " + most + ", counted " + counted);
            if (context >= window + blockTokens - 1) { // every alignment of the window has occurred
              assertEquals(counted, most, what);
            }
          }
        }
      }
    }
  }
}
