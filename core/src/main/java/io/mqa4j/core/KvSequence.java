package io.mqa4j.core;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One sequence of a {@link PagedKvCache}: a handle to pass to the cache's operations and the
 * {@link KvView} kernels read. It always shows the sequence's current tokens. Reading it while
 * the same sequence is being appended to, truncated, released or freed is a race; other
 * sequences may be changed meanwhile. Once freed, or once its cache is closed, the sequence is
 * dead: the cache's operations, the kernels, {@link #blockCount()}, {@link #blockTable()} and the
 * block accessors throw {@link IllegalStateException} naming it, and {@link #length()} reads 0.
 */
public final class KvSequence implements KvView {

  final PagedKvCache cache;
  final int id;
  /**
   * Cache block numbers of the blocks held, from block {@link #released} on: {@code blocks[i]}
   * is the sequence's block {@code released + i}. Entries past {@code blockCount - released} are
   * stale.
   */
  int[] blocks;
  /** Blocks the tokens span, released ones included: the last is {@code blockCount - 1}. */
  int blockCount;
  /** Leading blocks given back by {@link PagedKvCache#releaseBefore}. */
  int released;
  int length;
  boolean freed;
  /** Whether {@link PagedKvCache#close} freed it, rather than {@link PagedKvCache#free} before. */
  boolean closedWithCache;
  /** Where the cache lists this sequence among its live ones, while it is live. */
  int slot;

  KvSequence(PagedKvCache cache, int id, int[] blocks, int blockCount, int length) {
    this.cache = cache;
    this.id = id;
    this.blocks = blocks;
    this.blockCount = blockCount;
    this.length = length;
  }

  /** A number that identifies the sequence within its cache. */
  public int id() {
    return id;
  }

  /** The cache this sequence belongs to (closed or not). */
  public PagedKvCache cache() {
    return cache;
  }

  /** Whether {@link PagedKvCache#free} or {@link PagedKvCache#close} has released this sequence. */
  public boolean isFreed() {
    return freed;
  }

  /** The error for using this sequence once it is dead, saying why. */
  IllegalStateException dead() {
    return new IllegalStateException("sequence " + id
        + (closedWithCache ? " belongs to a closed cache" : " has been freed"));
  }

  /**
   * Blocks this sequence holds, shared ones included, released ones not;
   * {@link IllegalStateException} once dead.
   */
  public int blockCount() {
    if (freed) {
      throw dead();
    }
    return blockCount - released;
  }

  /**
   * The cache block numbers of the blocks this sequence holds, in order (a copy): entry {@code i}
   * holds tokens from {@code firstKey() + i * blockTokens()}. {@link IllegalStateException} once
   * dead.
   */
  public int[] blockTable() {
    if (freed) {
      throw dead();
    }
    return Arrays.copyOf(blocks, blockCount - released);
  }

  /**
   * The first token this sequence still holds: 0 until {@link PagedKvCache#releaseBefore} gives
   * back leading blocks, then the first token of the first block kept (a multiple of
   * {@link #blockTokens()}). Positions do not move: token {@code t} is still token {@code t}.
   */
  @Override
  public int firstKey() {
    return released * cache.footprint().blockTokens();
  }

  @Override
  public int kvHeads() {
    return cache.footprint().kvHeads();
  }

  @Override
  public int headDim() {
    return cache.footprint().headDim();
  }

  @Override
  public KvType type() {
    return cache.footprint().type();
  }

  @Override
  public int length() {
    return length;
  }

  @Override
  public int blockTokens() {
    return cache.footprint().blockTokens();
  }

  @Override
  public MemorySegment keyBlock(int block) {
    // The table can be longer than the blocks held; past them lie stale numbers of released blocks.
    if (block < released || block >= blockCount) {
      throw outOfRange(block);
    }
    return cache.keys(blocks[block - released]);
  }

  @Override
  public MemorySegment valueBlock(int block) {
    if (block < released || block >= blockCount) {
      throw outOfRange(block);
    }
    return cache.values(blocks[block - released]);
  }

  private RuntimeException outOfRange(int block) {
    if (freed) {
      return dead();
    }
    if (block >= 0 && block < released) {
      return new IndexOutOfBoundsException("block " + block + " of sequence " + id
          + " was released: it holds blocks [" + released + ", " + blockCount + ")");
    }
    return new IndexOutOfBoundsException("block " + block + " is out of range [" + released
        + ", " + blockCount + ") of sequence " + id);
  }

  @Override
  public String toString() {
    return "KvSequence[id=" + id + ", length=" + length + ", blocks=" + (blockCount - released)
        + (released > 0 ? ", from token " + firstKey() : "") + (freed ? ", freed" : "") + "]";
  }
}
