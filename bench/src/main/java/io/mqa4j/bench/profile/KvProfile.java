package io.mqa4j.bench.profile;

import io.mqa4j.core.KvFootprint;
import io.mqa4j.core.KvType;
import java.util.ArrayList;
import java.util.List;

/**
 * KV-cache memory of a model at a context, batch and tensor-parallel degree, for the model as
 * configured and for its MHA, GQA and MQA variants. Every byte count comes from
 * {@link KvFootprint}, the arithmetic {@link io.mqa4j.core.PagedKvCache} accounts with.
 */
public final class KvProfile {
  private KvProfile() {}

  /** Device memory sizes the chart and the fit columns use. */
  public static final long GIB_24 = 24L << 30;
  public static final long GIB_80 = 80L << 30;

  /**
   * The figures of one variant. Bytes are exact; "per sequence" counts the tokens kept (a
   * sliding-window layer keeps at most its window), "allocated" whole blocks for the batch.
   *
   * @param bytesPerToken K and V bytes one token costs across all layers, full-attention layers
   *     and sliding ones alike
   * @param bytesPerSequence K and V bytes one sequence of {@code context} tokens holds
   * @param allocatedBytes bytes the batch occupies in whole blocks
   * @param wasteBytes allocated bytes holding no token (partly filled last blocks)
   * @param bytesPerRank allocated bytes the fullest tensor-parallel rank holds
   * @param kvHeadsPerRank KV heads the fullest rank holds
   * @param replication copies of each KV head across ranks (1 unless there are fewer KV heads than ranks)
   * @param decodeBytesReadPerToken K and V bytes one decode step of one sequence reads
   * @param fitsContext24GiB longest context whose batch fits in 24 GiB per rank (KV only)
   * @param fitsContext80GiB the same for 80 GiB
   */
  public record Variant(String layout, String label, int kvHeads, long bytesPerToken,
      long bytesPerSequence, long allocatedBytes, long wasteBytes, long bytesPerRank,
      int kvHeadsPerRank, int replication, long decodeBytesReadPerToken, long fitsContext24GiB,
      long fitsContext80GiB) {}

  /** The inputs and every variant's figures. */
  public record Result(String model, int layers, int queryHeads, int kvHeads, int headDim,
      int slidingWindow, int slidingLayers, String dtype, int context, int batch, int blockTokens,
      int tensorParallel, long bytesPerToken, long bytesPerSequence, long allocatedBytes,
      long wasteBytes, long bytesPerRank, long decodeBytesReadPerToken, List<Variant> variants) {}

  public static Result of(ModelConfig model, KvType type, int context, int batch, int blockTokens,
      int tensorParallel) {
    if (context < 1) {
      throw new IllegalArgumentException("--context must be >= 1, got " + context);
    }
    if (batch < 1) {
      throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
    }
    if (blockTokens < 1) {
      throw new IllegalArgumentException("--block-size must be >= 1, got " + blockTokens);
    }
    if (tensorParallel < 1) {
      throw new IllegalArgumentException("--tensor-parallel must be >= 1, got " + tensorParallel);
    }
    if (!type.supportsHeadDim(model.headDim())) {
      throw new IllegalArgumentException("--dtype " + type.label() + " needs a head dim that is a "
          + "multiple of " + KvType.Q8_0_BLOCK + ", and " + model.name() + " has head_dim="
          + model.headDim());
    }
    List<Variant> variants = new ArrayList<>();
    Variant configured = variant(model, "configured", model.layout() + " (as configured)", type,
        context, batch, blockTokens, tensorParallel);
    variants.add(configured);
    variants.add(variant(model.withKvHeads(model.queryHeads()), "mha", "MHA", type, context, batch,
        blockTokens, tensorParallel));
    int gqa = gqaHeads(model);
    if (gqa > 0) {
      variants.add(variant(model.withKvHeads(gqa), "gqa", "GQA", type, context, batch, blockTokens,
          tensorParallel));
    }
    variants.add(variant(model.withKvHeads(1), "mqa", "MQA", type, context, batch, blockTokens,
        tensorParallel));
    return new Result(model.name(), model.layers(), model.queryHeads(), model.kvHeads(),
        model.headDim(), model.slidingWindow(), model.slidingLayers(), type.label(), context, batch,
        blockTokens, tensorParallel, configured.bytesPerToken(), configured.bytesPerSequence(),
        configured.allocatedBytes(), configured.wasteBytes(), configured.bytesPerRank(),
        configured.decodeBytesReadPerToken(), List.copyOf(variants));
  }

  /** The model's own KV heads when it is GQA, else 8 or the divisor of its heads nearest below. */
  static int gqaHeads(ModelConfig model) {
    if (model.layout().equals("GQA")) {
      return model.kvHeads();
    }
    for (int kv = Math.min(8, model.queryHeads() / 2); kv >= 2; kv--) {
      if (model.queryHeads() % kv == 0) {
        return kv;
      }
    }
    return 0; // a prime head count (falcon-7b has 71) has no grouped variant
  }

  static Variant variant(ModelConfig m, String layout, String label, KvType type, int context,
      int batch, int blockTokens, int tensorParallel) {
    int kv = m.kvHeads();
    // More KV heads than ranks: split them, the fullest rank taking the rounded-up share; fewer:
    // every rank holds a copy of one head, as tensor-parallel MQA must.
    int perRank = kv >= tensorParallel ? (kv + tensorParallel - 1) / tensorParallel : 1;
    int replication = kv >= tensorParallel ? 1 : (tensorParallel + kv - 1) / kv;
    KvFootprint layer = new KvFootprint(kv, m.headDim(), type, blockTokens);
    KvFootprint rankLayer = new KvFootprint(perRank, m.headDim(), type, blockTokens);
    Usage all = usage(m, layer, context);
    Usage rank = usage(m, rankLayer, context);
    long allocated = batch * all.allocated;
    return new Variant(layout, label, kv, m.layers() * layer.bytesPerToken(), all.held,
        allocated, allocated - batch * all.held, batch * rank.allocated, perRank, replication,
        all.read, fits(m, rankLayer, batch, GIB_24), fits(m, rankLayer, batch, GIB_80));
  }

  /** Bytes one sequence holds, occupies in blocks, and reads per decode step, over all layers. */
  private record Usage(long held, long allocated, long read) {}

  private static Usage usage(ModelConfig m, KvFootprint layer, long context) {
    int full = m.layers() - m.slidingLayers();
    long slidingTokens = m.slidingWindow() > 0 ? Math.min(context, m.slidingWindow()) : context;
    long held = full * context * layer.bytesPerToken()
        + m.slidingLayers() * slidingTokens * layer.bytesPerToken();
    long allocated = full * layer.allocatedBytes(context)
        + m.slidingLayers() * layer.allocatedBytes(slidingTokens);
    long read = full * layer.decodeBytesRead(context) + m.slidingLayers() * layer.decodeBytesRead(slidingTokens);
    return new Usage(held, allocated, read);
  }

  /** The longest context whose batch fits in {@code device} bytes, up to 2^31 - 1 tokens. */
  private static long fits(ModelConfig m, KvFootprint layer, int batch, long device) {
    long lo = 0;
    long hi = Integer.MAX_VALUE;
    while (lo < hi) {
      long mid = (lo + hi + 1) >>> 1;
      if (batch * usage(m, layer, mid).allocated <= device) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }

  /** KV bytes the batch occupies at {@code context}, for the chart. */
  public static long allocatedAt(ModelConfig m, KvType type, int blockTokens, int batch, long context) {
    return batch * usage(m, new KvFootprint(m.kvHeads(), m.headDim(), type, blockTokens), context).allocated;
  }
}
