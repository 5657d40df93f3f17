package io.mqa4j.bench.cli;

import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvType;
import io.mqa4j.core.KvView;
import io.mqa4j.core.PagedKvCache;

/** Keys and values appended to a paged KV cache of one element type, for kernels to read from. */
final class CachedKv implements AutoCloseable {

  private final PagedKvCache cache;
  private final KvSequence sequence;

  private CachedKv(PagedKvCache cache, KvSequence sequence) {
    this.cache = cache;
    this.sequence = sequence;
  }

  /** A cache of {@code type} holding {@code numKeys} tokens of {@code k} and {@code v}. */
  static CachedKv of(KvType type, AttentionShape shape, int numKeys, float[] k, float[] v) {
    if (!type.supportsHeadDim(shape.headDim())) {
      throw new BadInputException("--cache " + type.label() + " needs a head dim that is a multiple of "
          + KvType.Q8_0_BLOCK + ", got d=" + shape.headDim());
    }
    PagedKvCache cache = PagedKvCache.builder(shape.kvHeads(), shape.headDim()).type(type)
        .capacityTokens(Math.max(1, numKeys)).build();
    KvSequence sequence = cache.newSequence();
    cache.append(sequence, numKeys, k, 0, v, 0);
    return new CachedKv(cache, sequence);
  }

  KvView view() {
    return sequence;
  }

  @Override
  public void close() {
    cache.close();
  }
}
