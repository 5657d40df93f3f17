package io.mqa4j.core;

/**
 * The memory arithmetic of a paged KV cache for one layer: what a token, a block and a sequence of
 * a given length cost, without allocating anything. {@link PagedKvCache} accounts with the same
 * object, so a profile of a model and a live cache agree to the byte (for a sliding-window layer,
 * in the most blocks held at any step, which a cache reaches within one block's worth of steps:
 * the profile's bytes read and waste count the window's tokens alone, the cache's every token it
 * holds).
 *
 * @param kvHeads key/value heads per token
 * @param headDim elements per head
 * @param type element type
 * @param blockTokens tokens per block
 */
public record KvFootprint(int kvHeads, int headDim, KvType type, int blockTokens) {

  /** A byte count of the footprint is more than a {@code long} holds. */
  public static final class TooLargeException extends IllegalArgumentException {
    TooLargeException(String message) {
      super(message);
    }
  }

  public KvFootprint {
    if (kvHeads <= 0) {
      throw new IllegalArgumentException("kvHeads must be positive, got " + kvHeads);
    }
    java.util.Objects.requireNonNull(type, "type");
    type.checkHeadDim(headDim);
    if (blockTokens <= 0) {
      throw new IllegalArgumentException("blockTokens must be positive, got " + blockTokens);
    }
    try {
      // Every per-token and per-block figure below then fits in a long.
      Math.multiplyExact(Math.multiplyExact(2L, Math.multiplyExact(type.headBytes(headDim),
          (long) kvHeads)), (long) blockTokens);
    } catch (ArithmeticException e) {
      throw new TooLargeException("a block of blockTokens=" + blockTokens + " tokens of kvHeads="
          + kvHeads + " heads of headDim=" + headDim + " " + type.label() + " is more bytes than a long holds");
    }
  }

  /** Bytes of one token's keys, or of its values, across all KV heads. */
  public long tokenBytes() {
    return type.headBytes(headDim) * kvHeads;
  }

  /** Bytes one token costs, keys and values together. */
  public long bytesPerToken() {
    return 2 * tokenBytes();
  }

  /** Bytes one block holds, keys and values together. */
  public long blockBytes() {
    return blockTokens * bytesPerToken();
  }

  /** Blocks a sequence of {@code tokens} tokens occupies. */
  public long blocksFor(long tokens) {
    if (tokens < 0) {
      throw new IllegalArgumentException("tokens must be >= 0, got " + tokens);
    }
    return tokens / blockTokens + (tokens % blockTokens == 0 ? 0 : 1);
  }

  /** Bytes allocated, in whole blocks, for a sequence of {@code tokens} tokens. */
  public long allocatedBytes(long tokens) {
    return bytes(blocksFor(tokens), blockBytes(), tokens);
  }

  /** Bytes allocated but unused in the last, partly filled block of such a sequence. */
  public long wasteBytes(long tokens) {
    return allocatedBytes(tokens) - bytes(tokens, bytesPerToken(), tokens);
  }

  /** K and V bytes a decode step over {@code tokens} cached tokens reads, each row once. */
  public long decodeBytesRead(long tokens) {
    if (tokens < 0) {
      throw new IllegalArgumentException("tokens must be >= 0, got " + tokens);
    }
    return bytes(tokens, bytesPerToken(), tokens);
  }

  private static long bytes(long count, long each, long tokens) {
    try {
      return Math.multiplyExact(count, each);
    } catch (ArithmeticException e) {
      throw new TooLargeException("tokens=" + tokens + " is more bytes than a long holds ("
          + each + " bytes per " + (count == tokens ? "token" : "block") + ")");
    }
  }
}
