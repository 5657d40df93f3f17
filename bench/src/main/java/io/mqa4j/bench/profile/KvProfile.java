package io.mqa4j.bench.profile;

import io.mqa4j.core.KvFootprint;
import io.mqa4j.core.KvType;
import java.util.ArrayList;
import java.util.List;

/**
 * KV-cache memory of a model at a context, batch and tensor-parallel degree, for the model as
 * configured and for its MHA, GQA and MQA variants. Every byte count is {@link KvFootprint}'s
 * arithmetic, the one {@link io.mqa4j.core.PagedKvCache} accounts with, summed over the layers
 * with checked products and sums: a figure beyond {@link Long#MAX_VALUE} is a
 * {@link TooLargeException}, never a wrapped-around number.
 */
public final class KvProfile {
  private KvProfile() {}

  /** Device memory sizes the chart and the fit columns use. */
  public static final long GIB_24 = 24L << 30;
  public static final long GIB_80 = 80L << 30;

  /**
   * The figures of one variant. Bytes are exact; "per sequence" counts the tokens kept (a
   * sliding-window layer keeps at most its window), "allocated" whole blocks for the batch (a
   * sliding-window layer's as a cache that frees the blocks its window has passed: see
   * {@link #slidingBlocks}).
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

  /**
   * A figure of one variant is more bytes than a {@code long} holds (8 EiB): the inputs are too
   * large to profile.
   */
  public static final class TooLargeException extends IllegalArgumentException {
    private final String variant;
    private final int kvHeads;

    TooLargeException(String variant, int kvHeads) {
      super("the KV cache of the " + variant + " variant, with " + kvHeads
          + " KV heads, is more than 8 EiB");
      this.variant = variant;
      this.kvHeads = kvHeads;
    }

    /** The label of the variant whose figures overflow. */
    public String variant() {
      return variant;
    }

    /** Its KV heads. */
    public int kvHeads() {
      return kvHeads;
    }
  }

  /**
   * Tensor-parallel ranks split a model's query heads evenly, and its KV heads evenly or, when
   * there are fewer KV heads than ranks, hold an equal number of copies of each:
   * {@code tensorParallel} must divide the query heads, and divide the KV heads or be a multiple
   * of them. (The MHA, GQA and MQA variants are what-ifs; a variant whose heads do
   * not split evenly is shown with its fullest rank.)
   */
  public static void checkTensorParallel(ModelConfig model, int tensorParallel) {
    if (tensorParallel < 1) {
      throw new IllegalArgumentException("--tensor-parallel must be >= 1, got " + tensorParallel);
    }
    int kv = model.kvHeads();
    if (kv % tensorParallel != 0 && tensorParallel % kv != 0) {
      throw new IllegalArgumentException("--tensor-parallel " + tensorParallel + " must divide the "
          + kv + " KV heads of " + model.name() + " or be a multiple of " + kv);
    }
    // Ranks split the query heads too, evenly (as serving engines require).
    if (model.queryHeads() % tensorParallel != 0) {
      throw new IllegalArgumentException("--tensor-parallel " + tensorParallel + " must divide the "
          + model.queryHeads() + " query heads of " + model.name());
    }
  }

  /**
   * Every figure of the model and its variants.
   *
   * @throws IllegalArgumentException for an input out of range, naming its option
   * @throws TooLargeException when a byte count would exceed {@link Long#MAX_VALUE}
   */
  public static Result of(ModelConfig model, KvType type, int context, int batch, int blockTokens,
      int tensorParallel) {
    if (context < 1) {
      throw new IllegalArgumentException("--context must be >= 1, got " + context);
    }
    if (batch < 1) {
      throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
    }
    if (blockTokens < 1) {
      throw new IllegalArgumentException("--block-tokens must be >= 1, got " + blockTokens);
    }
    checkTensorParallel(model, tensorParallel);
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

  /** KV heads the fullest of {@code tensorParallel} ranks holds. */
  static int kvHeadsPerRank(int kvHeads, int tensorParallel) {
    // More KV heads than ranks: split them, the fullest rank taking the rounded-up share; fewer:
    // every rank holds a copy of one head, as tensor-parallel MQA must.
    // In long: a count near 2^31 plus the other would wrap an int.
    return kvHeads >= tensorParallel
        ? (int) ((kvHeads + (long) tensorParallel - 1) / tensorParallel) : 1;
  }

  static Variant variant(ModelConfig m, String layout, String label, KvType type, int context,
      int batch, int blockTokens, int tensorParallel) {
    int kv = m.kvHeads();
    int perRank = kvHeadsPerRank(kv, tensorParallel);
    int replication = kv >= tensorParallel ? 1 : (int) ((tensorParallel + (long) kv - 1) / kv);
    try {
      KvFootprint layer = new KvFootprint(kv, m.headDim(), type, blockTokens);
      KvFootprint rankLayer = new KvFootprint(perRank, m.headDim(), type, blockTokens);
      Usage all = usage(m, layer, context);
      long allocated = Math.multiplyExact(batch, all.allocated);
      return new Variant(layout, label, kv, Math.multiplyExact(m.layers(), layer.bytesPerToken()),
          all.held, allocated, allocated - Math.multiplyExact(batch, all.held),
          Math.multiplyExact(batch, allocated(m, rankLayer, context)), perRank, replication, all.read,
          fits(m, rankLayer, batch, GIB_24), fits(m, rankLayer, batch, GIB_80));
    } catch (ArithmeticException | KvFootprint.TooLargeException e) {
      throw new TooLargeException(label, kv);
    }
  }

  /** Bytes one sequence holds, occupies in blocks, and reads per decode step, over all layers. */
  private record Usage(long held, long allocated, long read) {}

  private static Usage usage(ModelConfig m, KvFootprint layer, long context) {
    // A decode step reads each cached row once: what the sequence holds.
    long held = layers(m, layer::decodeBytesRead, context);
    return new Usage(held, allocated(m, layer, context), held);
  }

  /** Bytes one sequence of {@code context} tokens occupies in whole blocks, over all layers. */
  private static long allocated(ModelConfig m, KvFootprint layer, long context) {
    int full = m.layers() - m.slidingLayers();
    long sum = full == 0 ? 0 : Math.multiplyExact(full, layer.allocatedBytes(context));
    if (m.slidingLayers() == 0) {
      return sum;
    }
    long blocks = slidingBlocks(m.slidingWindow(), layer, context);
    return Math.addExact(sum, Math.multiplyExact(m.slidingLayers(),
        Math.multiplyExact(blocks, layer.blockBytes())));
  }

  /**
   * The most blocks a sliding-window layer of a sequence of up to {@code context} tokens occupies
   * at any step in a paged cache that frees each block once the window has passed all of it: the
   * window's {@code W} tokens end anywhere in a block, so they can span
   * {@code ceil((W - 1) / blockTokens) + 1} blocks, one more than {@code W} tokens fill unless
   * {@code W - 1} is a multiple of {@code blockTokens} (then every step spans that many; otherwise
   * a step whose window ends on a block's last token spans one fewer). mqa4j's
   * {@code PagedKvCache} holds as many when
   * every decode step first calls {@code releaseBefore(seq, position - W + 1)}; without it a
   * sliding layer holds every token, as a full one does.
   */
  static long slidingBlocks(int window, KvFootprint layer, long context) {
    long all = layer.blocksFor(context);
    if (window <= 0) {
      return all;
    }
    long span = layer.blocksFor(window - 1L) + 1;
    return Math.min(all, span);
  }

  /** {@code perLayer} summed over the full-attention layers and the sliding-window ones. */
  private static long layers(ModelConfig m, java.util.function.LongUnaryOperator perLayer, long context) {
    int full = m.layers() - m.slidingLayers();
    long slidingTokens = m.slidingWindow() > 0 ? Math.min(context, m.slidingWindow()) : context;
    long sum = full == 0 ? 0 : Math.multiplyExact(full, perLayer.applyAsLong(context));
    return m.slidingLayers() == 0 ? sum
        : Math.addExact(sum, Math.multiplyExact(m.slidingLayers(), perLayer.applyAsLong(slidingTokens)));
  }

  /**
   * The longest context whose batch fits in {@code device} bytes, up to 2^31 - 1 tokens; 0 when not
   * even one token fits. A context whose bytes overflow a {@code long} does not fit.
   */
  private static long fits(ModelConfig m, KvFootprint layer, int batch, long device) {
    long lo = 0;
    long hi = Integer.MAX_VALUE;
    while (lo < hi) {
      long mid = (lo + hi + 1) >>> 1;
      if (fitsIn(m, layer, batch, mid, device)) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }

  private static boolean fitsIn(ModelConfig m, KvFootprint layer, int batch, long context, long device) {
    try {
      return Math.multiplyExact(batch, allocated(m, layer, context)) <= device;
    } catch (ArithmeticException | KvFootprint.TooLargeException e) {
      return false;
    }
  }

  /**
   * GiB the batch occupies at {@code context} on a rank holding {@code kvHeads} KV heads per layer,
   * for the chart: in floating point, so that contexts past the profiled one cannot overflow, and
   * with any head count (a rank's share of heads need not make a model of its own).
   */
  public static double allocatedGiBAt(ModelConfig m, KvType type, int blockTokens, int batch,
      int kvHeads, long context) {
    KvFootprint f = new KvFootprint(kvHeads, m.headDim(), type, blockTokens);
    double blockBytes = f.blockBytes();
    double blocks = (double) (m.layers() - m.slidingLayers()) * f.blocksFor(context)
        + (double) m.slidingLayers() * slidingBlocks(m.slidingWindow(), f, context);
    return batch * blocks * blockBytes / (1L << 30);
  }
}
