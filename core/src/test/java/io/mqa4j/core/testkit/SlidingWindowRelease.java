package io.mqa4j.core.testkit;

import static io.mqa4j.core.testkit.KernelChecks.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvType;
import io.mqa4j.core.KvView;
import io.mqa4j.core.PagedKvCache;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;

/**
 * A kernel over a sequence whose blocks behind a sliding window were released must give what it
 * gives over the whole sequence, and must refuse a call that could see a released token. The
 * scalar kernel must agree bit for bit (the same keys, read in the same order); the SIMD kernel's
 * lane sums may round differently once the JIT compiles them between two calls, so it must agree
 * to a few ulps, far closer than a wrong or missing key would allow.
 */
public final class SlidingWindowRelease {
  private SlidingWindowRelease() {}

  public static void check(AttentionKernel kernel, KvType type, boolean exact) {
    AttentionShape shape = AttentionShape.gqa(4, 2, 32);
    int window = 37;
    int blockTokens = 8;
    Random random = new Random(11);
    try (PagedKvCache cache = PagedKvCache.builder(2, 32).type(type).blockTokens(blockTokens)
        .capacityBlocks(64).build()) {
      KvSequence whole = cache.newSequence();
      append(cache, whole, 100, random);
      KvSequence slid = cache.fork(whole); // shares every block, so both hold the same bytes
      AttentionOptions options = AttentionOptions.defaults().withSlidingWindow(window);
      float[] q = values(random, 5 * shape.queryStride());
      float[] expected = new float[q.length];
      float[] actual = new float[q.length];
      for (int step = 0; step < 30; step++) {
        float[] kv = values(random, shape.kvStride());
        cache.append(whole, kv, 0, kv, 0);
        cache.append(slid, kv, 0, kv, 0);
        int position = slid.length() - 1;
        cache.releaseBefore(slid, position - window + 1); // keeps the keys this step sees
        assertTrue(slid.blockCount() <= (window - 1 + blockTokens - 1) / blockTokens + 1,
            slid + " holds more blocks than its window spans");
        kernel.decode(shape, options, q, 0, whole, expected, 0);
        kernel.decode(shape, options, q, 0, slid, actual, 0);
        same(exact, expected, actual, type + " decode at position " + position);
      }
      // A caller's own view, whose blocks before firstKey() do not exist, reads the same.
      kernel.decode(shape, options, q, 0, new Delegate(slid, slid.firstKey()), actual, 0);
      same(exact, expected, actual, type + " decode of a caller's view");
      IllegalArgumentException badFirst = assertThrows(IllegalArgumentException.class,
          () -> kernel.decode(shape, options, q, 0, new Delegate(slid, slid.length() + 1), actual, 0));
      assertTrue(badFirst.getMessage().contains("kv.firstKey() must be in [0, " + slid.length()
          + "]"), badFirst.getMessage());
      KvView[] batch = {whole, slid, slid};
      float[] batchOut = new float[3 * shape.queryStride()];
      kernel.decodeBatch(shape, options, MemorySegment.ofArray(q).asSlice(0, 3L * shape.queryStride() * 4),
          batch, MemorySegment.ofArray(batchOut));
      kernel.decode(shape, options, q, 0, whole, expected, 0);
      kernel.decode(shape, options, q, shape.queryStride(), whole, actual, 0);
      same(exact, Arrays.copyOf(expected, shape.queryStride()),
          Arrays.copyOf(batchOut, shape.queryStride()), type + " batch row 0");
      same(exact, Arrays.copyOf(actual, shape.queryStride()),
          Arrays.copyOfRange(batchOut, shape.queryStride(), 2 * shape.queryStride()),
          type + " batch row 1");

      // Chunked prefill of five tokens: its first query sees keys from length - 5 - window + 1.
      float[] chunk = values(random, 5 * shape.kvStride());
      cache.append(whole, 5, chunk, 0, chunk, 0);
      cache.append(slid, 5, chunk, 0, chunk, 0);
      cache.releaseBefore(slid, slid.length() - 5 - window + 1);
      kernel.prefill(shape, options, 5, MemorySegment.ofArray(q), whole, MemorySegment.ofArray(expected));
      kernel.prefill(shape, options, 5, MemorySegment.ofArray(q), slid, MemorySegment.ofArray(actual));
      same(exact, expected, actual, type + " chunked prefill");

      cache.releaseBefore(slid, slid.length() - window + 1); // now only a decode step fits
      IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class,
          () -> kernel.prefill(shape, options, 5, MemorySegment.ofArray(q), slid,
              MemorySegment.ofArray(actual)));
      assertTrue(tooMany.getMessage().contains("holds tokens from " + slid.firstKey()),
          tooMany.getMessage());
      IllegalArgumentException noWindow = assertThrows(IllegalArgumentException.class,
          () -> kernel.decode(shape, AttentionOptions.defaults(), q, 0, slid, actual, 0));
      assertTrue(noWindow.getMessage().contains("no sliding window"), noWindow.getMessage());
      IllegalArgumentException wider = assertThrows(IllegalArgumentException.class,
          () -> kernel.decode(shape, options.withSlidingWindow(window + blockTokens), q, 0, slid,
              actual, 0));
      assertTrue(wider.getMessage().contains("slidingWindow=" + (window + blockTokens)),
          wider.getMessage());
      IllegalArgumentException inBatch = assertThrows(IllegalArgumentException.class,
          () -> kernel.decodeBatch(shape, AttentionOptions.defaults().withCausal(true),
              MemorySegment.ofArray(q).asSlice(0, 2L * shape.queryStride() * 4),
              new KvView[] {whole, slid}, MemorySegment.ofArray(batchOut)));
      assertTrue(inBatch.getMessage().startsWith("sequences[1] holds tokens from"),
          inBatch.getMessage());
    }
  }

  private static void same(boolean exact, float[] expected, float[] actual, String what) {
    if (exact) {
      assertArrayEquals(expected, actual, what);
      return;
    }
    assertEquals(expected.length, actual.length, what);
    for (int i = 0; i < expected.length; i++) {
      float tolerance = 1e-6f * Math.max(1f, Math.abs(expected[i]));
      if (!(Math.abs(expected[i] - actual[i]) <= tolerance)) {
        assertEquals(expected[i], actual[i], tolerance, what + " at " + i);
      }
    }
  }

  /** A view of the caller's own over {@code seq}'s blocks, claiming {@code firstKey}. */
  private static final class Delegate extends ForwardingKvView {
    private final int firstKey;

    Delegate(KvSequence seq, int firstKey) {
      super(seq);
      this.firstKey = firstKey;
    }

    @Override
    public int firstKey() {
      return firstKey;
    }
  }

  private static void append(PagedKvCache cache, KvSequence seq, int tokens, Random random) {
    int floats = tokens * seq.kvHeads() * seq.headDim();
    cache.append(seq, tokens, values(random, floats), 0, values(random, floats), 0);
  }
}
