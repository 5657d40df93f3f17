package io.mqa4j.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvView;
import io.mqa4j.core.PagedKvCache;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The SIMD kernel's worker threads allocate nothing per call either: a decode whose keys are
 * split across them, a batch they share, a prefill of many rows. (DecodeAllocationTest measures
 * the calling thread, of a kernel without workers.)
 */
class WorkerAllocationTest {

  private static final int THREADS = 3; // two workers beside the caller

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"split decode", "batch", "uneven batch", "prefill"})
  void workersAllocateNothingOnceWarm(String call) throws Exception {
    AttentionKernel simd = AttentionKernels.simd(THREADS);
    AttentionShape shape = AttentionShape.gqa(8, 2, 32);
    AttentionOptions options = AttentionOptions.defaults().withCausal(true);
    try (PagedKvCache cache = PagedKvCache.builder(2, 32).blockTokens(16).capacityTokens(8192).build()) {
      KvSequence longer = cache.newSequence();
      KvSequence a = cache.newSequence();
      KvSequence b = cache.newSequence();
      append(cache, longer, 1024); // four splits of 256 keys: every worker gets some
      append(cache, a, 256);
      append(cache, b, 256);
      int queries = call.equals("prefill") ? 32 : 3;
      float[] q = new float[queries * shape.queryStride()];
      Arrays.fill(q, 0.25f);
      float[] out = new float[q.length];
      KvView[] even = {a, b, a};
      KvView[] uneven = {longer, a, b};
      Runnable step = switch (call) {
        case "split decode" -> () -> simd.decode(shape, options, q, 0, longer, out, 0);
        case "batch" -> () -> simd.decodeBatch(shape, options, q, 0, even, out, 0);
        case "uneven batch" -> () -> simd.decodeBatch(shape, options, q, 0, uneven, out, 0);
        case "prefill" -> () -> simd.prefill(shape, options, queries, q, 0, longer, out, 0);
        default -> throw new IllegalArgumentException(call);
      };
      step.run(); // starts the workers
      long[] workers = Thread.getAllStackTraces().keySet().stream()
          .filter(t -> t.getName().startsWith("mqa4j-worker-"))
          .mapToLong(Thread::threadId).toArray();
      assertTrue(workers.length >= THREADS - 1, "workers found: " + workers.length);
      int steps = 500;
      long bytes = Long.MAX_VALUE;
      // Until C2 has compiled the vector loops they box their vectors: warm up, a bounded number
      // of times, while steps still allocate. Code that allocates on every step fails each round.
      for (int round = 0; round < 5 && bytes >= steps; round++) {
        for (int i = 0; i < 3_000; i++) {
          step.run();
        }
        long before = ThreadAllocation.bytes(workers);
        for (int i = 0; i < steps; i++) {
          step.run();
        }
        bytes = ThreadAllocation.bytes(workers) - before;
      }
      assertTrue(bytes < steps, call + ": the workers allocated " + bytes + " bytes over " + steps
          + " calls");
    }
  }

  private static void append(PagedKvCache cache, KvSequence seq, int tokens) {
    float[] kv = new float[tokens * 2 * 32];
    for (int i = 0; i < kv.length; i++) {
      kv[i] = (i % 17) / 17f - 0.5f;
    }
    cache.append(seq, tokens, kv, 0, kv, 0);
  }
}
