package io.mqa4j.core.spi;

import io.mqa4j.core.KvType;
import io.mqa4j.core.KvView;
import java.lang.foreign.MemorySegment;

/**
 * The contiguous f32 view that the overloads taking K and V directly hand to the kernel: one per
 * thread, filled for a call and emptied after it, so that those overloads allocate nothing and
 * keep no caller's memory reachable between calls. Its arguments are checked before it is filled.
 *
 * <p>Its one block of keys (and of values) is the caller's whole array or segment, and its keys
 * start {@link #keyStart} bytes into it: a slice at the caller's offset would be a new segment on
 * every call whose offset moves (a window sliding along one array). Kernels that say they add the
 * start ({@link AbstractAttentionKernel#readsArgumentStarts}) get this view; others get
 * {@link #sliced}.
 */
final class ArgumentKv implements KvView {
  private int kvHeads;
  private int headDim;
  private int length;
  private MemorySegment keys;
  private MemorySegment values;
  private long keyStart;
  private long valueStart;
  /** Whether a call on this thread is using the view (a kernel that calls another). */
  boolean inUse;

  ArgumentKv fill(int kvHeads, int headDim, int length, MemorySegment keys, long keyStart,
      MemorySegment values, long valueStart) {
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.length = length;
    this.keys = keys;
    this.keyStart = keyStart;
    this.values = values;
    this.valueStart = valueStart;
    inUse = true;
    return this;
  }

  void empty() {
    keys = null;
    values = null;
    keyStart = 0;
    valueStart = 0;
    length = 0;
    inUse = false;
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
    return length;
  }

  @Override
  public int blockTokens() {
    return Math.max(1, length);
  }

  @Override
  public MemorySegment keyBlock(int block) {
    checkInUse();
    return Checks.onlyBlock(block, keys);
  }

  @Override
  public MemorySegment valueBlock(int block) {
    checkInUse();
    return Checks.onlyBlock(block, values);
  }

  /** Where the keys start in {@link #keyBlock}, in bytes. */
  long keyStart() {
    return keyStart;
  }

  /** Where the values start in {@link #valueBlock}, in bytes. */
  long valueStart() {
    return valueStart;
  }

  /** The same keys and values as a view of {@link KvView}'s own layout: new segments. */
  KvView sliced() {
    checkInUse();
    return KvView.ofContiguous(kvHeads, headDim, length, keys.asSlice(keyStart),
        values.asSlice(valueStart));
  }

  /** A kernel that kept the view past its call would otherwise read null blocks. */
  private void checkInUse() {
    if (!inUse) {
      throw new IllegalStateException("this view lasts for one kernel call, which has returned");
    }
  }

  @Override
  public String toString() {
    return "ArgumentKv[kvHeads=" + kvHeads + ", headDim=" + headDim + ", length=" + length
        + ", keyStart=" + keyStart + ", valueStart=" + valueStart + "]";
  }
}
