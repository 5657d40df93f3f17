package io.mqa4j.core;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import io.mqa4j.core.spi.Checks;
import java.util.Objects;

/**
 * A contiguous off-heap f32 KV cache for one sequence: one block of {@code capacity} tokens,
 * keys and values each {@code [capacity][kvHeads][headDim]}. Appending copies, reading is a
 * view ({@link KvView}) that kernels consume directly. One writer at a time; readers may run on
 * other threads between appends, once the appends they are to see have been handed to them
 * through something that orders memory (a lock, a queue, a future, {@code Thread.join}): the
 * cache itself does not. {@link #close()} frees the memory.
 */
public final class ContiguousKvCache implements KvView, AutoCloseable {

  private final int kvHeads;
  private final int headDim;
  private final int capacity;
  private final Arena arena;
  private final MemorySegment keys;
  private final MemorySegment values;
  private int length;
  private volatile boolean closed;

  /** A cache for up to {@code capacityTokens} tokens of {@code kvHeads} heads of {@code headDim}. */
  public ContiguousKvCache(int kvHeads, int headDim, int capacityTokens) {
    if (kvHeads <= 0) throw new IllegalArgumentException("kvHeads must be positive, got " + kvHeads);
    if (headDim <= 0) throw new IllegalArgumentException("headDim must be positive, got " + headDim);
    if (capacityTokens <= 0) {
      throw new IllegalArgumentException("capacityTokens must be positive, got " + capacityTokens);
    }
    // One token's floats are indexed by int in append's arrays.
    long tokenFloats = (long) kvHeads * headDim;
    if (tokenFloats > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("kvHeads * headDim must fit in an int, got kvHeads="
          + kvHeads + " * headDim=" + headDim + " = " + tokenFloats);
    }
    long bytes;
    try {
      bytes = Math.multiplyExact(tokenFloats * Float.BYTES, (long) capacityTokens);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("capacityTokens * kvHeads * headDim * " + Float.BYTES
          + " bytes overflows a long: capacityTokens=" + capacityTokens + ", kvHeads=" + kvHeads
          + ", headDim=" + headDim);
    }
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.capacity = capacityTokens;
    this.arena = Arena.ofShared();
    // 64-byte alignment keeps every vector load of a head within one cache line where it can.
    try {
      String what = " of a contiguous KV cache of capacityTokens=" + capacityTokens;
      this.keys = PagedKvCache.allocate(arena, bytes, "keys" + what + " (values need as much again)");
      this.values = PagedKvCache.allocate(arena, bytes, "values" + what);
    } catch (Throwable t) {
      arena.close(); // the keys, if the values failed: nothing else could ever free them
      throw t;
    }
  }

  /** Appends one token's keys and values, each {@code kvHeads * headDim} floats from the offsets. */
  public void append(float[] k, int kOffset, float[] v, int vOffset) {
    append(1, k, kOffset, v, vOffset);
  }

  /** Appends {@code tokens} tokens, each array holding {@code [tokens][kvHeads][headDim]} floats. */
  public void append(int tokens, float[] k, int kOffset, float[] v, int vOffset) {
    Objects.requireNonNull(k, "k");
    Objects.requireNonNull(v, "v");
    checkOpen();
    if (tokens < 0) throw new IllegalArgumentException("tokens must be >= 0, got " + tokens);
    // A long: tokens * kvHeads * headDim can pass an int, and then no array holds them.
    long floats = (long) tokens * kvHeads * headDim;
    Checks.range("k", k.length, kOffset, "tokens", tokens, (long) kvHeads * headDim);
    Checks.range("v", v.length, vOffset, "tokens", tokens, (long) kvHeads * headDim);
    if (tokens > capacity - length) {
      throw new KvCacheFullException("cannot append " + Checks.count(tokens, "token") + ": "
          + length + " of " + Checks.count(capacity, "token") + " in use");
    }
    long at = (long) length * kvHeads * headDim * Float.BYTES;
    MemorySegment.copy(k, kOffset, keys, ValueLayout.JAVA_FLOAT_UNALIGNED, at, (int) floats);
    MemorySegment.copy(v, vOffset, values, ValueLayout.JAVA_FLOAT_UNALIGNED, at, (int) floats);
    length += tokens;
  }

  /**
   * Appends {@code tokens} tokens from segments holding {@code [tokens][kvHeads][headDim]} floats
   * each, in native order from their start; a segment that is too small, closed, or confined to
   * another thread is refused before anything is written.
   */
  public void append(int tokens, MemorySegment k, MemorySegment v) {
    checkOpen();
    if (tokens < 0) throw new IllegalArgumentException("tokens must be >= 0, got " + tokens);
    Checks.segment("k", k, "tokens", tokens, (long) kvHeads * headDim);
    Checks.segment("v", v, "tokens", tokens, (long) kvHeads * headDim);
    if (tokens > capacity - length) {
      throw new KvCacheFullException("cannot append " + Checks.count(tokens, "token") + ": "
          + length + " of " + Checks.count(capacity, "token") + " in use");
    }
    long at = (long) length * kvHeads * headDim * Float.BYTES;
    long bytes = (long) tokens * kvHeads * headDim * Float.BYTES;
    MemorySegment.copy(k, 0, keys, at, bytes);
    MemorySegment.copy(v, 0, values, at, bytes);
    length += tokens;
  }

  /** Drops every token from {@code newLength} on (rolls back rejected tokens). */
  public void truncate(int newLength) {
    checkOpen();
    if (newLength < 0 || newLength > length) {
      throw new IllegalArgumentException("newLength must be in [0, " + length + "], got " + newLength);
    }
    length = newLength;
  }

  /** Tokens the cache can hold. */
  public int capacity() {
    return capacity;
  }

  /** Off-heap bytes reserved for keys and values together; none once closed. */
  public long reservedBytes() {
    return closed ? 0 : keys.byteSize() + values.byteSize();
  }

  @Override
  public int kvHeads() {
    return kvHeads;
  }

  @Override
  public int headDim() {
    return headDim;
  }

  @Override
  public KvType type() {
    return KvType.F32;
  }

  @Override
  public int length() {
    return closed ? 0 : length;
  }

  @Override
  public int blockTokens() {
    return capacity;
  }

  @Override
  public MemorySegment keyBlock(int block) {
    checkOpen();
    if (block != 0) {
      throw outOfRange(block);
    }
    return keys;
  }

  @Override
  public MemorySegment valueBlock(int block) {
    checkOpen();
    if (block != 0) {
      throw outOfRange(block);
    }
    return values;
  }

  private static IndexOutOfBoundsException outOfRange(int block) {
    return new IndexOutOfBoundsException("block " + block
        + " is out of range [0, 1): a contiguous cache is one block");
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the KV cache is closed");
    }
  }

  /** Whether {@link #close} has freed the memory; a kernel refuses to read a closed cache. */
  public boolean isClosed() {
    return closed;
  }

  /**
   * Frees the memory; a second call does nothing. Afterwards the cache reads length 0 and its
   * appends, truncations and blocks throw; its shape and capacity still answer. While some of the
   * memory is in use outside Java (a native call or an I/O operation on a block), the memory
   * cannot be freed: this throws {@link IllegalStateException} and leaves the cache open and as
   * it was, so the close can be tried again. A kernel that is reading the cache when it closes
   * fails with the memory's {@link IllegalStateException} and may leave its output partly
   * written: close a cache only once the calls that read it have returned.
   */
  @Override
  public synchronized void close() {
    if (!closed) {
      // First: if it refuses, nothing here has changed yet. A close cut short (a stack overflow
      // in the arena's cleanup) may have closed the arena already; a retry then finishes the rest.
      if (arena.scope().isAlive()) {
        arena.close();
      }
      closed = true;
    }
  }

  @Override
  public String toString() {
    return "ContiguousKvCache[f32, " + kvHeads + "x" + headDim + ", "
        + (closed ? "closed]" : length + "/" + capacity + " tokens]");
  }
}
