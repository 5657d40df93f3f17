package io.mqa4j.bench.cli;

import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.ContiguousKvCache;
import io.mqa4j.core.KvType;
import io.mqa4j.core.KvView;

/** Keys and values copied into a KV cache of one element type, for kernels to read from. */
final class CachedKv implements AutoCloseable {

  private final ContiguousKvCache contiguous;

  private CachedKv(ContiguousKvCache contiguous) {
    this.contiguous = contiguous;
  }

  /** A cache of {@code type} holding {@code numKeys} tokens of {@code k} and {@code v}. */
  static CachedKv of(KvType type, AttentionShape shape, int numKeys, float[] k, float[] v) {
    if (type != KvType.F32) {
      throw new BadInputException("--cache " + type.label() + " is not supported yet (f32 only)");
    }
    ContiguousKvCache cache = new ContiguousKvCache(shape.kvHeads(), shape.headDim(), Math.max(1, numKeys));
    cache.append(numKeys, k, 0, v, 0);
    return new CachedKv(cache);
  }

  KvView view() {
    return contiguous;
  }

  @Override
  public void close() {
    contiguous.close();
  }
}
