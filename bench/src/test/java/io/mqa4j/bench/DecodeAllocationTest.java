package io.mqa4j.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.ContiguousKvCache;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvView;
import io.mqa4j.core.PagedKvCache;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Decode runs once per token and layer: over the same arrays, segments or cache, a step allocates
 * nothing, whichever overload carries K and V.
 */
class DecodeAllocationTest {

  private static final int WARM_UP_ROUNDS = 5;
  private static final AttentionShape SHAPE = AttentionShape.gqa(4, 2, 32);
  private static final int KEYS = 8;
  /** Layers of separate K and V arrays, as a model keeps them: more than one entry's worth. */
  private static final int LAYERS = 40;

  @ParameterizedTest(name = "{0} kernel, K and V from {1}")
  @CsvSource({"scalar, cache", "simd, cache", "scalar, arrays", "simd, arrays",
      "scalar, array offsets", "simd, array offsets", "scalar, layers of arrays",
      "simd, layers of arrays", "scalar, segments", "simd, segments",
      "scalar, ALiBi shapes taking turns", "simd, ALiBi shapes taking turns",
      "scalar, sliding paged cache", "simd, sliding paged cache",
      "scalar, sliding paged cache from segments", "simd, sliding paged cache from segments",
      "scalar, batch of arrays", "simd, batch of arrays", "scalar, sliding arrays",
      "simd, sliding arrays", "scalar, MQA rows across the lanes",
      "simd, MQA rows across the lanes"})
  void aDecodeStepAllocatesNothing(String name, String source) throws Exception {
    AttentionKernel kernel = name.equals("simd") ? AttentionKernels.simd(1) : AttentionKernels.scalar();
    // One ALiBi options object for layers of two head counts, whose standard slopes differ.
    AttentionOptions options = source.startsWith("ALiBi") ? AttentionOptions.defaults().withAlibi()
        : AttentionOptions.defaults();
    float[] q = filled(SHAPE.queryStride(), 0.25f);
    float[] out = new float[SHAPE.queryStride()];
    float[] k = filled(KEYS * SHAPE.kvStride(), 0.5f);
    float[] v = filled(KEYS * SHAPE.kvStride(), 1f);
    try (Arena arena = Arena.ofShared();
        ContiguousKvCache cache = new ContiguousKvCache(SHAPE.kvHeads(), SHAPE.headDim(), KEYS);
        PagedKvCache paged = PagedKvCache.builder(SHAPE.kvHeads(), SHAPE.headDim()).blockTokens(4)
            .capacityBlocks(8).build()) {
      cache.append(KEYS, k, 0, v, 0);
      Runnable step = switch (source) {
        case "cache" -> () -> kernel.decode(SHAPE, options, q, 0, cache, out, 0);
        case "arrays" -> () -> kernel.decode(SHAPE, options, KEYS, q, 0, k, 0, v, 0, out, 0);
        case "ALiBi shapes taking turns" -> {
          AttentionShape wider = AttentionShape.gqa(2 * SHAPE.queryHeads(), SHAPE.kvHeads(),
              SHAPE.headDim());
          float[] wideQ = filled(wider.queryStride(), 0.25f);
          float[] wideOut = new float[wider.queryStride()];
          yield () -> {
            kernel.decode(SHAPE, options, KEYS, q, 0, k, 0, v, 0, out, 0);
            kernel.decode(wider, options, KEYS, wideQ, 0, k, 0, v, 0, wideOut, 0);
          };
        }
        case "array offsets" -> {
          // One array for every layer's keys and one for its values, each layer at an offset.
          int layerFloats = KEYS * SHAPE.kvStride();
          float[] keys = filled(LAYERS * layerFloats, 0.5f);
          float[] values = filled(LAYERS * layerFloats, 1f);
          yield () -> {
            for (int layer = 0; layer < LAYERS; layer++) {
              kernel.decode(SHAPE, options, KEYS, q, 0, keys, layer * layerFloats, values,
                  layer * layerFloats, out, 0);
            }
          };
        }
        case "layers of arrays" -> {
          float[][] keys = new float[LAYERS][];
          float[][] values = new float[LAYERS][];
          for (int layer = 0; layer < LAYERS; layer++) {
            keys[layer] = filled(KEYS * SHAPE.kvStride(), 0.5f);
            values[layer] = filled(KEYS * SHAPE.kvStride(), 1f);
          }
          yield () -> {
            for (int layer = 0; layer < LAYERS; layer++) {
              kernel.decode(SHAPE, options, KEYS, q, 0, keys[layer], 0, values[layer], 0, out, 0);
            }
          };
        }
        case "segments" -> {
          MemorySegment qs = arena.allocate(4L * SHAPE.queryStride());
          MemorySegment outs = arena.allocate(4L * SHAPE.queryStride());
          MemorySegment ks = arena.allocate(4L * k.length);
          MemorySegment vs = arena.allocate(4L * v.length);
          ks.copyFrom(MemorySegment.ofArray(k));
          vs.copyFrom(MemorySegment.ofArray(v));
          yield () -> kernel.decode(SHAPE, options, KEYS, qs, ks, vs, outs);
        }
        case "sliding paged cache" -> {
          // A step of a sliding-window layer: append the token, give back the blocks the window
          // has passed, attend. The sequence grows without end in a cache of 8 blocks.
          int window = 2 * KEYS;
          AttentionOptions sliding = options.withSlidingWindow(window);
          KvSequence seq = paged.newSequence();
          yield () -> {
            paged.append(seq, k, 0, v, 0);
            paged.releaseBefore(seq, seq.length() - window);
            kernel.decode(SHAPE, sliding, q, 0, seq, out, 0);
          };
        }
        case "sliding paged cache from segments" -> {
          // As above, the token's K and V appended from native segments.
          int window = 2 * KEYS;
          AttentionOptions sliding = options.withSlidingWindow(window);
          KvSequence seq = paged.newSequence();
          MemorySegment ks = arena.allocate(4L * SHAPE.kvStride());
          MemorySegment vs = arena.allocate(4L * SHAPE.kvStride());
          yield () -> {
            paged.append(seq, 1, ks, vs);
            paged.releaseBefore(seq, seq.length() - window);
            kernel.decode(SHAPE, sliding, q, 0, seq, out, 0);
          };
        }
        case "batch of arrays" -> {
          // Three sequences' queries and outputs in arrays at offsets; the KvView[] is the
          // engine's, made once.
          KvView[] sequences = {cache, cache, cache};
          float[] qs = filled(3 * SHAPE.queryStride() + 5, 0.25f);
          float[] outs = new float[3 * SHAPE.queryStride() + 2];
          yield () -> kernel.decodeBatch(SHAPE, options, qs, 5, sequences, outs, 2);
        }
        case "sliding arrays" -> {
          // A window of KEYS tokens sliding along one K and one V array: offsets that move every
          // step, the value's apart from the key's, over more places than a table of segments
          // by offset could keep.
          int tokens = 10_000;
          int stride = SHAPE.kvStride();
          float[] keys = filled(tokens * stride, 0.5f);
          float[] values = filled((tokens + 3) * stride, 1f);
          int[] first = {0};
          yield () -> {
            int at = first[0];
            first[0] = (at + 1) % (tokens - KEYS + 1);
            kernel.decode(SHAPE, options, KEYS, q, 0, keys, at * stride, values,
                (at + 3) * stride, out, 0);
          };
        }
        case "MQA rows across the lanes" -> {
          // 32 query rows of one KV head fill vectors: the SIMD kernel transposes them, and its
          // sums back, through registers (Transpose), and loads and stores them in one piece.
          AttentionShape mqa = AttentionShape.mqa(32, 128);
          float[] mq = filled(mqa.queryStride(), 0.25f);
          float[] mout = new float[mqa.queryStride()];
          float[] mk = filled(KEYS * mqa.kvStride(), 0.5f);
          float[] mv = filled(KEYS * mqa.kvStride(), 1f);
          yield () -> kernel.decode(mqa, options, KEYS, mq, 0, mk, 0, mv, 0, mout, 0);
        }
        default -> throw new IllegalArgumentException(source);
      };
      // The probe's own allocation is the same with and without steps, so it cancels out.
      long none = allocatedOver(0, step);
      int steps = 2_000;
      // Until C2 has compiled the vector loops they box their vectors; on two busy cores that
      // can take longer than one warm-up. Steady state is what counts: warm up again, a bounded
      // number of times, while steps still allocate. Code that allocates on every step fails
      // every round.
      long bytes = Long.MAX_VALUE;
      for (int round = 0; round < WARM_UP_ROUNDS && bytes >= steps; round++) {
        allocatedOver(source.contains("layer") ? 500 : 20_000, step);
        bytes = allocatedOver(steps, step) - none;
      }
      // Wrapping an array or a segment anew on each step costs tens of bytes a step.
      assertTrue(bytes < steps, name + ", " + source + ": " + bytes + " bytes allocated over "
          + steps + " decode steps after " + WARM_UP_ROUNDS + " warm-ups");
    }
  }

  private static float[] filled(int length, float value) {
    float[] a = new float[length];
    Arrays.fill(a, value);
    return a;
  }

  private static long allocatedOver(int steps, Runnable step) throws Exception {
    long before = ThreadAllocation.bytes();
    for (int i = 0; i < steps; i++) {
      step.run();
    }
    return ThreadAllocation.bytes() - before;
  }
}
