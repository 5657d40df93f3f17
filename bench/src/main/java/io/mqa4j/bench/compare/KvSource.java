package io.mqa4j.bench.compare;

import io.mqa4j.core.ContiguousKvCache;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvType;
import io.mqa4j.core.KvView;
import io.mqa4j.core.PagedKvCache;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/**
 * Random keys and values for one layout and element type in a KV cache (paged, or f32
 * contiguous), filled once at the longest context a run needs; {@link #view(int)} exposes the
 * first tokens without copying.
 */
public final class KvSource implements AutoCloseable {

  private final KvView full;
  private final AutoCloseable owner;

  private KvSource(KvView full, AutoCloseable owner) {
    this.full = full;
    this.owner = owner;
  }

  /**
   * A paged cache of {@code type} with blocks of {@code blockTokens} tokens, holding one sequence
   * of {@code tokens} random tokens.
   */
  public static KvSource random(int kvHeads, int headDim, KvType type, int blockTokens, int tokens,
      long seed) {
    PagedKvCache cache = PagedKvCache.builder(kvHeads, headDim).type(type).blockTokens(blockTokens)
        .capacityTokens(tokens).build();
    try {
      KvSequence sequence = cache.newSequence();
      fillRandom(kvHeads * headDim, tokens, seed,
          (n, k, v) -> cache.append(sequence, n, k, 0, v, 0));
      return new KvSource(sequence, cache);
    } catch (RuntimeException e) {
      cache.close();
      throw e;
    }
  }

  /** An f32 contiguous cache holding {@code tokens} random tokens. */
  public static KvSource contiguous(int kvHeads, int headDim, int tokens, long seed) {
    ContiguousKvCache cache = new ContiguousKvCache(kvHeads, headDim, tokens);
    try {
      fillRandom(kvHeads * headDim, tokens, seed, (n, k, v) -> cache.append(n, k, 0, v, 0));
      return new KvSource(cache, cache);
    } catch (RuntimeException e) {
      cache.close();
      throw e;
    }
  }

  private interface Appender {
    void append(int tokens, float[] k, float[] v);
  }

  /** Random tokens in chunks, so that no K or V array of the whole context is ever held. */
  private static void fillRandom(int tokenFloats, int tokens, long seed, Appender appender) {
    SplittableRandom random = new SplittableRandom(seed);
    // 256 tokens at a time, fewer when tokens are so wide that 256 would pass 4 MiB a chunk (or
    // overflow an array).
    int chunk = Math.max(1, Math.min(256, (1 << 20) / tokenFloats));
    float[] k = new float[chunk * tokenFloats];
    float[] v = new float[k.length];
    for (int t = 0; t < tokens; t += chunk) {
      int n = Math.min(chunk, tokens - t);
      fill(random, k, n * tokenFloats);
      fill(random, v, n * tokenFloats);
      appender.append(n, k, v);
    }
  }

  private static void fill(SplittableRandom random, float[] a, int n) {
    for (int i = 0; i < n; i++) {
      a[i] = (float) (random.nextDouble() * 2 - 1);
    }
  }

  /** The first {@code length} tokens. */
  public KvView view(int length) {
    if (length > full.length()) {
      throw new IllegalArgumentException("length " + length + " exceeds the " + full.length() + " tokens filled");
    }
    return new Prefix(full, length);
  }

  @Override
  public void close() throws Exception {
    owner.close();
  }

  /** The first {@code length} tokens of another view. */
  private record Prefix(KvView base, int length) implements KvView {
    @Override
    public int kvHeads() {
      return base.kvHeads();
    }

    @Override
    public int headDim() {
      return base.headDim();
    }

    @Override
    public KvType type() {
      return base.type();
    }

    @Override
    public int blockTokens() {
      return base.blockTokens();
    }

    @Override
    public MemorySegment keyBlock(int block) {
      return base.keyBlock(block);
    }

    @Override
    public MemorySegment valueBlock(int block) {
      return base.valueBlock(block);
    }
  }
}
