package io.mqa4j.core;

import io.mqa4j.core.spi.Checks;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A read view of one sequence's keys and values, as the kernels consume them: tokens in blocks of
 * {@link #blockTokens()}, each block a segment laid out {@code [tokens][kvHeads][headDim]} in
 * {@link #type()}. Token {@code t} lives in block {@code t / blockTokens()} at row
 * {@code t % blockTokens()}. A contiguous cache is one block; a paged cache has many.
 */
public interface KvView {

  /** Key/value heads per token. */
  int kvHeads();

  /** Elements per head. */
  int headDim();

  /** Element type of the blocks. */
  KvType type();

  /** Tokens in the sequence. */
  int length();

  /** Tokens per block (the last block may be partly filled). */
  int blockTokens();

  /**
   * The first token whose keys and values the view holds; 0 unless earlier blocks were given
   * back, as {@link PagedKvCache#releaseBefore} does for a sliding window. Blocks before
   * {@code firstKey() / blockTokens()} need not exist, and the kernels refuse a call in which a
   * query could see a token before it.
   */
  default int firstKey() {
    return 0;
  }

  /**
   * The keys of block {@code block}, {@code [blockTokens][kvHeads][headDim]}. Blocks run from
   * {@code firstKey() / blockTokens()} (0 but for released blocks) to the one holding the last
   * token; a contiguous view is the single block 0, even when empty.
   * Any other index throws {@link IndexOutOfBoundsException} naming it and the range. A
   * {@link KvSequence} lends its cache's blocks read-only: other sequences may share them.
   */
  MemorySegment keyBlock(int block);

  /** The values of block {@code block}, laid out and numbered as in {@link #keyBlock}. */
  MemorySegment valueBlock(int block);

  /** Bytes of one token's keys (or values) across all KV heads. */
  default long tokenBytes() {
    return type().headBytes(headDim()) * kvHeads();
  }

  /** A view of {@code numKeys} contiguous f32 tokens in {@code keys} and {@code values}. */
  static KvView ofContiguous(int kvHeads, int headDim, int numKeys, MemorySegment keys,
      MemorySegment values) {
    if (numKeys < 0) {
      throw new IllegalArgumentException("numKeys must be >= 0, got " + numKeys);
    }
    return new ContiguousKv(kvHeads, headDim, numKeys, keys, values);
  }

  /** A single-block f32 view over segments the caller owns. */
  record ContiguousKv(int kvHeads, int headDim, int length, MemorySegment keys, MemorySegment values)
      implements KvView {
    public ContiguousKv {
      Objects.requireNonNull(keys, "keys");
      Objects.requireNonNull(values, "values");
      if (kvHeads <= 0) {
        throw new IllegalArgumentException("kvHeads must be positive, got " + kvHeads);
      }
      if (headDim <= 0) {
        throw new IllegalArgumentException("headDim must be positive, got " + headDim);
      }
      if (length < 0) {
        throw new IllegalArgumentException("length must be >= 0, got " + length);
      }
      long need;
      try {
        need = Math.multiplyExact(Math.multiplyExact((long) length * kvHeads, (long) headDim),
            (long) Float.BYTES);
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException("length=" + length + " tokens of kvHeads=" + kvHeads
            + " x headDim=" + headDim + " floats are more bytes than a long holds");
      }
      if (keys.byteSize() < need) {
        throw new IllegalArgumentException("keys hold " + keys.byteSize() + " bytes but "
            + Checks.count(length, "token") + " of " + kvHeads + "x" + headDim + " floats need "
            + need);
      }
      if (values.byteSize() < need) {
        throw new IllegalArgumentException("values hold " + values.byteSize() + " bytes but "
            + Checks.count(length, "token") + " of " + kvHeads + "x" + headDim + " floats need "
            + need);
      }
    }

    @Override
    public KvType type() {
      return KvType.F32;
    }

    @Override
    public int blockTokens() {
      return Math.max(1, length);
    }

    @Override
    public MemorySegment keyBlock(int block) {
      return Checks.onlyBlock(block, keys);
    }

    @Override
    public MemorySegment valueBlock(int block) {
      return Checks.onlyBlock(block, values);
    }
  }
}
