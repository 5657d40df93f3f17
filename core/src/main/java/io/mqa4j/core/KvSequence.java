package io.mqa4j.core;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One sequence of a {@link PagedKvCache}: a handle to pass to the cache's operations and the
 * {@link KvView} kernels read. It always shows the sequence's current tokens. Reading it while
 * the same sequence is being appended to, truncated or freed is a race; other sequences may be
 * changed meanwhile. Once freed, or once its cache is closed, the sequence is dead: the cache's
 * operations, the kernels, {@link #blockCount()}, {@link #blockTable()} and the block accessors
 * throw {@link IllegalStateException} naming it, and {@link #length()} reads 0.
 */
public final class KvSequence implements KvView {

  final PagedKvCache cache;
  final int id;
  int[] blocks;
  int blockCount;
  int length;
  boolean freed;

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

  /** Whether {@link PagedKvCache#free} or {@link PagedKvCache#close} has released this sequence. */
  public boolean isFreed() {
    return freed;
  }

  /** The error for using this sequence once it is dead, saying why. */
  IllegalStateException dead() {
    return new IllegalStateException("sequence " + id
        + (cache.isClosed() ? " belongs to a closed cache" : " has been freed"));
  }

  /** Blocks this sequence holds, shared ones included; {@link IllegalStateException} once dead. */
  public int blockCount() {
    if (freed) {
      throw dead();
    }
    return blockCount;
  }

  /**
   * The cache block numbers of this sequence, in order (a copy); {@link IllegalStateException}
   * once dead.
   */
  public int[] blockTable() {
    if (freed) {
      throw dead();
    }
    return Arrays.copyOf(blocks, blockCount);
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
    // The table can be longer than blockCount; past it lie stale numbers of released blocks.
    if (block < 0 || block >= blockCount) {
      throw outOfRange(block);
    }
    return cache.keys(blocks[block]);
  }

  @Override
  public MemorySegment valueBlock(int block) {
    if (block < 0 || block >= blockCount) {
      throw outOfRange(block);
    }
    return cache.values(blocks[block]);
  }

  private RuntimeException outOfRange(int block) {
    if (freed) {
      return dead();
    }
    return new IndexOutOfBoundsException("block " + block + " is out of range [0, " + blockCount
        + ") of sequence " + id);
  }

  @Override
  public String toString() {
    return "KvSequence[id=" + id + ", length=" + length + ", blocks=" + blockCount
        + (freed ? ", freed" : "") + "]";
  }
}
