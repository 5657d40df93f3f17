package io.mqa4j.core;

import io.mqa4j.core.spi.Checks;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A paged off-heap KV cache for one attention layer, in the manner of vLLM's PagedAttention:
 * memory is cut into blocks of {@code blockTokens} tokens, every sequence has a block table, and
 * free blocks sit on a free list. All capacity is allocated when the cache is created, from an
 * {@link Arena} the cache owns; {@link #close()} frees it.
 *
 * <p>Each block holds keys and values, each laid out {@code [blockTokens][kvHeads][headDim]} in
 * the cache's {@link KvType}. Sequences can share blocks: {@link #fork} shares every block by
 * reference count, and the first append into a shared, partly filled block copies it first.
 * {@link #releaseBefore} gives back the blocks a sliding window has passed, so a sequence of a
 * sliding-window layer holds its window's blocks rather than its whole length.
 *
 * <p>Operations that change the cache are serialised on the cache, so threads may work on their
 * own sequences at once. Kernels read a {@link KvSequence} without locking; a sequence must not be
 * changed while a kernel reads it. An operation that fails, including one that finds the cache
 * full ({@link KvCacheFullException}), leaves the cache exactly as it was.
 *
 * <p>A sequence that has been {@link #free freed}, and every sequence once the cache is
 * {@link #close closed}, is dead: operations on it, and kernels given it, throw
 * {@link IllegalStateException} naming the sequence. A sequence of another cache is an
 * {@link IllegalArgumentException}.
 */
public final class PagedKvCache implements AutoCloseable {

  /** The block size when none is given. */
  public static final int DEFAULT_BLOCK_TOKENS = 16;
  /** The most blocks a cache can have: its per-block arrays are Java arrays. */
  private static final int MAX_BLOCKS = Integer.MAX_VALUE - 8;

  private final KvFootprint footprint;
  private final int capacityBlocks;
  private final long tokenBytes;
  private final long headBytes;
  /** Distance between the starts of two blocks' keys; a multiple of 64 so blocks start aligned. */
  private final long stride;
  private final Arena arena;
  private final MemorySegment[] keySlices;
  private final MemorySegment[] valueSlices;
  /**
   * The same slices, read-only, as sequences lend them to kernels and callers: a write through a
   * view would reach every sequence sharing the block and bypass copy-on-write. Made once, so
   * lending a block allocates nothing.
   */
  private final MemorySegment[] lentKeys;
  private final MemorySegment[] lentValues;
  private final int[] refCounts;
  private final int[] freeList;
  /** One head read from a segment before it is encoded; the cache's lock guards it. */
  private final float[] headScratch;
  private int freeCount;
  /**
   * The live sequences, {@code live[0..liveCount)}, each at its {@link KvSequence#slot}: a table
   * of plain stores, so that once a free has released its blocks nothing left can fail.
   */
  private KvSequence[] live = new KvSequence[8];
  private int liveCount;
  private int nextId;
  private boolean closed;
  /** Set last by {@link #close()}: everything is freed and cleared, so a later close does nothing. */
  private boolean cleared;
  /** Each block's most tokens held, for {@link #wasteBytes}, which then allocates nothing. */
  private int[] fillScratch;

  private PagedKvCache(KvFootprint footprint, int capacityBlocks) {
    this.footprint = footprint;
    this.capacityBlocks = capacityBlocks;
    this.tokenBytes = footprint.tokenBytes();
    this.headBytes = footprint.type().headBytes(footprint.headDim());
    long half = footprint.blockTokens() * tokenBytes;
    this.stride = stride(half);
    String what = "a paged KV cache of capacityBlocks=" + capacityBlocks;
    // Heap tables first: a heap that cannot hold them fails before any native memory is taken.
    try {
      this.keySlices = new MemorySegment[capacityBlocks];
      this.valueSlices = new MemorySegment[capacityBlocks];
      this.lentKeys = new MemorySegment[capacityBlocks];
      this.lentValues = new MemorySegment[capacityBlocks];
      this.refCounts = new int[capacityBlocks];
      this.freeList = new int[capacityBlocks];
      this.headScratch = new float[footprint.headDim()];
    } catch (OutOfMemoryError e) {
      throw heapExhausted(what, e);
    }
    this.arena = Arena.ofShared();
    try {
      MemorySegment all = allocate(arena, 2 * stride * capacityBlocks, what);
      for (int b = 0; b < capacityBlocks; b++) {
        keySlices[b] = all.asSlice(2 * stride * b, half);
        valueSlices[b] = all.asSlice(2 * stride * b + stride, half);
        lentKeys[b] = keySlices[b].asReadOnly();
        lentValues[b] = valueSlices[b].asReadOnly();
      }
    } catch (Throwable t) {
      arena.close(); // nothing else holds the memory: a failed construction must not keep it
      // allocate's own error already names the cache and has its cause; the slices' does not.
      if (t instanceof OutOfMemoryError e && e.getCause() == null) {
        throw heapExhausted(what, e);
      }
      throw t;
    }
    // Hand out low block numbers first, so a fresh cache fills memory in address order.
    for (int b = 0; b < capacityBlocks; b++) {
      freeList[b] = capacityBlocks - 1 - b;
    }
    this.freeCount = capacityBlocks;
  }

  /**
   * {@code bytes} from {@code arena}, 64-byte aligned; memory the machine cannot give fails with
   * an {@link OutOfMemoryError} that says what was asked for.
   */
  static MemorySegment allocate(Arena arena, long bytes, String what) {
    try {
      return arena.allocate(bytes, 64);
    } catch (OutOfMemoryError e) {
      OutOfMemoryError named = new OutOfMemoryError(what + ": " + bytes
          + " bytes of native memory could not be allocated (" + e.getMessage() + ")");
      named.initCause(e);
      throw named;
    }
  }

  /** Each block also costs the heap about 200 bytes of tables and segment objects. */
  private static OutOfMemoryError heapExhausted(String what, OutOfMemoryError e) {
    OutOfMemoryError named = new OutOfMemoryError(what + ": the Java heap cannot hold its "
        + "block tables, about 200 bytes a block (" + e.getMessage() + ")");
    named.initCause(e);
    return named;
  }

  /** {@code half} rounded up to a multiple of 64. */
  private static long stride(long half) {
    return (half + 63) / 64 * 64;
  }

  /** Starts a cache for {@code kvHeads} heads of {@code headDim} elements per token. */
  public static Builder builder(int kvHeads, int headDim) {
    return new Builder(kvHeads, headDim);
  }

  /**
   * Settings of a new cache. One capacity is required, given in blocks, bytes or tokens; the last
   * one given wins, and {@link #build()} converts it to blocks with the element type and block size
   * set by then, whatever order the setters were called in.
   */
  public static final class Builder {
    /** The ways a capacity can be given, with the setter that gives each. */
    private enum CapacityUnit {
      BLOCKS("capacityBlocks"), BYTES("capacityBytes"), TOKENS("capacityTokens");

      final String setter;

      CapacityUnit(String setter) {
        this.setter = setter;
      }
    }

    private final int kvHeads;
    private final int headDim;
    private KvType type = KvType.F32;
    private int blockTokens = DEFAULT_BLOCK_TOKENS;
    private CapacityUnit capacityUnit;
    private long capacity;

    private Builder(int kvHeads, int headDim) {
      this.kvHeads = kvHeads;
      this.headDim = headDim;
    }

    /** Element type; default {@link KvType#F32}. */
    public Builder type(KvType type) {
      this.type = Objects.requireNonNull(type, "type");
      return this;
    }

    /** Tokens per block; default {@value #DEFAULT_BLOCK_TOKENS}. */
    public Builder blockTokens(int blockTokens) {
      this.blockTokens = blockTokens;
      return this;
    }

    /** Capacity in blocks. */
    public Builder capacityBlocks(long blocks) {
      return capacity(CapacityUnit.BLOCKS, blocks);
    }

    /**
     * Capacity in bytes of keys and values, rounded down to whole blocks. These are payload
     * bytes: where a block's keys are not a multiple of 64 bytes (a q8_0 block of one token, say)
     * each block's keys and values are padded to one, and {@link PagedKvCache#reservedBytes()}
     * is larger.
     */
    public Builder capacityBytes(long bytes) {
      return capacity(CapacityUnit.BYTES, bytes);
    }

    /** Capacity for {@code tokens} tokens in whole blocks (for one sequence of that length). */
    public Builder capacityTokens(long tokens) {
      return capacity(CapacityUnit.TOKENS, tokens);
    }

    private Builder capacity(CapacityUnit unit, long amount) {
      this.capacityUnit = unit;
      this.capacity = amount;
      return this;
    }

    public PagedKvCache build() {
      // One token's floats are indexed by int in append's arrays.
      long tokenFloats = (long) kvHeads * headDim;
      if (tokenFloats > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("kvHeads * headDim must fit in an int, got kvHeads="
            + kvHeads + " * headDim=" + headDim + " = " + tokenFloats);
      }
      // A block's keys (or values), within a quarter of a long so padding and the K + V pair
      // (here and in KvFootprint.blockBytes) cannot wrap.
      long half = 0;
      if (kvHeads > 0 && headDim > 0 && blockTokens > 0) { // else the footprint says what is wrong
        long tokenBytes = type.headBytes(headDim) * kvHeads;
        try {
          half = Math.multiplyExact(tokenBytes, (long) blockTokens);
        } catch (ArithmeticException e) {
          half = Long.MAX_VALUE; // reported below
        }
        if (half > Long.MAX_VALUE / 4) {
          throw new IllegalArgumentException("blockTokens=" + blockTokens + " tokens of "
              + tokenBytes + " bytes (kvHeads=" + kvHeads + ", headDim=" + headDim
              + ", " + type.label() + ") make a block too large for a long byte count");
        }
      }
      KvFootprint footprint = new KvFootprint(kvHeads, headDim, type, blockTokens);
      long blockStride = 2 * stride(half);
      if (capacityUnit == null) {
        throw new IllegalArgumentException(
            "a capacity is required: capacityBlocks, capacityBytes or capacityTokens");
      }
      if (capacity <= 0) {
        throw new IllegalArgumentException(capacityUnit.setter + " must be positive, got " + capacity);
      }
      long blocks = switch (capacityUnit) {
        case BLOCKS -> capacity;
        case BYTES -> capacity / footprint.blockBytes();
        case TOKENS -> Math.ceilDiv(capacity, blockTokens);
      };
      if (blocks == 0) { // only bytes round down
        throw new IllegalArgumentException("capacityBytes " + capacity + " holds no block of "
            + footprint.blockBytes() + " bytes");
      }
      if (blocks > MAX_BLOCKS) {
        throw new IllegalArgumentException(capacityUnit == CapacityUnit.BLOCKS
            ? "capacityBlocks must be at most " + MAX_BLOCKS + ", got " + capacity
            : capacityUnit.setter + " " + capacity + " needs " + blocks + " blocks, more than the "
                + MAX_BLOCKS + " a cache can hold");
      }
      if (blocks > Long.MAX_VALUE / blockStride) {
        throw new IllegalArgumentException("a capacity of " + Checks.count(blocks, "block") + " of "
            + blockStride + " bytes is too large for a long byte count");
      }
      return new PagedKvCache(footprint, (int) blocks);
    }
  }

  /** The cache's memory arithmetic: element type, block size, bytes per token and block. */
  public KvFootprint footprint() {
    return footprint;
  }

  /** A new, empty sequence. */
  public synchronized KvSequence newSequence() {
    checkOpen();
    KvSequence s = new KvSequence(this, nextId, new int[4], 0, 0);
    enlist(s);
    nextId++;
    return s;
  }

  /** Appends one token: {@code kvHeads * headDim} key and value floats from the offsets. */
  public void append(KvSequence seq, float[] k, int kOffset, float[] v, int vOffset) {
    append(seq, 1, k, kOffset, v, vOffset);
  }

  /**
   * Appends {@code tokens} tokens, keys and values each {@code [tokens][kvHeads][headDim]} floats
   * from the offsets, converted to the cache's type. All or nothing: when the blocks needed are
   * not free, throws {@link KvCacheFullException} and changes nothing.
   */
  public synchronized void append(KvSequence seq, int tokens, float[] k, int kOffset, float[] v,
      int vOffset) {
    checkLive(seq);
    Objects.requireNonNull(k, "k");
    Objects.requireNonNull(v, "v");
    if (tokens < 0) {
      throw new IllegalArgumentException("tokens must be >= 0, got " + tokens);
    }
    int rowFloats = footprint.kvHeads() * footprint.headDim();
    Checks.range("k", k.length, kOffset, "tokens", tokens, rowFloats);
    Checks.range("v", v.length, vOffset, "tokens", tokens, rowFloats);
    if (tokens == 0) {
      return;
    }
    appendChecked(seq, tokens, k, kOffset, v, vOffset, null, null);
  }

  /**
   * Appends {@code tokens} tokens from segments holding {@code [tokens][kvHeads][headDim]} floats
   * each, in native order from their start (as the kernels read queries), converted to the
   * cache's type; for engines whose activations live off the heap. All or nothing, as the
   * {@code float[]} append; a segment that is too small, closed, or confined to another thread is
   * refused before anything is written.
   */
  public synchronized void append(KvSequence seq, int tokens, MemorySegment k, MemorySegment v) {
    checkLive(seq);
    if (tokens < 0) {
      throw new IllegalArgumentException("tokens must be >= 0, got " + tokens);
    }
    int rowFloats = footprint.kvHeads() * footprint.headDim();
    Checks.segment("k", k, "tokens", tokens, rowFloats);
    Checks.segment("v", v, "tokens", tokens, rowFloats);
    if (tokens == 0) {
      return;
    }
    appendChecked(seq, tokens, null, 0, null, 0, k, v);
  }

  /**
   * The append of checked arguments: K and V from the arrays, or, when they are null, from the
   * segments.
   */
  private void appendChecked(KvSequence seq, int tokens, float[] k, int kOffset, float[] v,
      int vOffset, MemorySegment kSegment, MemorySegment vSegment) {
    int rowFloats = footprint.kvHeads() * footprint.headDim();
    int blockTokens = footprint.blockTokens();
    int fill = seq.length % blockTokens;
    int held = seq.blockCount - seq.released;
    long needed = blocksNeeded(seq, tokens);
    boolean copyOnWrite = copiesLastBlock(seq);
    long newBlocks = needed - (copyOnWrite ? 1 : 0);
    if (needed > freeCount) {
      throw new KvCacheFullException("cannot append " + Checks.count(tokens, "token")
          + " to sequence " + seq.id + ": that needs " + Checks.count(needed, "free block") + " of "
          + Checks.count(blockTokens, "token") + ", the cache has " + freeCount + " free of "
          + Checks.count(capacityBlocks, "block"));
    }
    // Every block needed is free. Nothing changes until the calls that could still fail (a
    // stack overflow in a copy or an encoding) are done: the blocks to fill are read off the
    // top of the free list, written, and only then taken, by plain stores. A failure leaves
    // rows written past the sequence's length in blocks it holds or that are free.
    if (seq.blocks.length < held + newBlocks) { // same entries in a larger table
      seq.blocks = java.util.Arrays.copyOf(seq.blocks,
          (int) Math.max(seq.blocks.length * 2L, held + newBlocks));
    }
    // The copy, if any, is the free list's top block; the new blocks are those below it.
    int copy = copyOnWrite ? freeList[freeCount - 1] : -1;
    int firstNew = freeCount - 1 - (copyOnWrite ? 1 : 0);
    if (copyOnWrite) {
      int shared = seq.blocks[held - 1];
      long bytes = fill * tokenBytes;
      MemorySegment.copy(keySlices[shared], 0, keySlices[copy], 0, bytes);
      MemorySegment.copy(valueSlices[shared], 0, valueSlices[copy], 0, bytes);
    }
    int heads = footprint.kvHeads();
    int headDim = footprint.headDim();
    KvType type = footprint.type();
    for (int t = 0; t < tokens; t++) {
      int position = seq.length + t;
      int index = position / blockTokens - seq.released;
      int block = index >= held ? freeList[firstNew - (index - held)]
          : copyOnWrite && index == held - 1 ? copy : seq.blocks[index];
      long row = (position % blockTokens) * tokenBytes;
      for (int h = 0; h < heads; h++) {
        if (k != null) {
          int from = t * rowFloats + h * headDim;
          type.encodeHead(k, kOffset + from, headDim, keySlices[block], row + h * headBytes);
          type.encodeHead(v, vOffset + from, headDim, valueSlices[block], row + h * headBytes);
        } else { // a segment may hold more floats than an int counts
          long at = ((long) t * rowFloats + (long) h * headDim) * Float.BYTES;
          MemorySegment.copy(kSegment, KvType.FLOAT_NATIVE, at, headScratch, 0, headDim);
          type.encodeHead(headScratch, 0, headDim, keySlices[block], row + h * headBytes);
          MemorySegment.copy(vSegment, KvType.FLOAT_NATIVE, at, headScratch, 0, headDim);
          type.encodeHead(headScratch, 0, headDim, valueSlices[block], row + h * headBytes);
        }
      }
    }
    if (copyOnWrite) {
      freeCount--;
      refCounts[copy] = 1;
      refCounts[seq.blocks[held - 1]]--; // shared: its count stays above 0
      seq.blocks[held - 1] = copy;
    }
    for (long i = 0; i < newBlocks; i++) {
      int block = freeList[--freeCount];
      refCounts[block] = 1;
      seq.blocks[held++] = block;
    }
    seq.blockCount += (int) newBlocks;
    seq.length += tokens;
  }

  /**
   * A new sequence holding the same tokens as {@code seq}, sharing all its blocks (and starting
   * at the same {@link KvSequence#firstKey()}). Appends to either copy a shared, partly filled
   * block first, so neither sees the other's new tokens.
   */
  public synchronized KvSequence fork(KvSequence seq) {
    checkLive(seq);
    int held = seq.blockCount - seq.released;
    KvSequence child = new KvSequence(this, nextId,
        java.util.Arrays.copyOf(seq.blocks, Math.max(4, held)), seq.blockCount, seq.length);
    child.released = seq.released;
    enlist(child); // first: it can fail (a table to grow), the counts below cannot
    nextId++;
    for (int i = 0; i < held; i++) {
      refCounts[seq.blocks[i]]++;
    }
    return child;
  }

  /**
   * Drops every token of {@code seq} from {@code length} on; blocks no longer needed are released.
   * {@code length} cannot go below {@link KvSequence#firstKey()}: released tokens are gone.
   */
  public synchronized void truncate(KvSequence seq, int length) {
    checkLive(seq);
    int first = seq.firstKey();
    if (length < first || length > seq.length) {
      throw new IllegalArgumentException("length must be in [" + first + ", " + seq.length
          + "] for sequence " + seq.id + (first > 0 ? " (tokens before " + first
          + " were released)" : "") + ", got " + length);
    }
    int keep = (int) footprint.blocksFor(length);
    for (int i = keep; i < seq.blockCount; i++) {
      release(seq.blocks[i - seq.released]);
    }
    seq.blockCount = keep;
    seq.length = length;
  }

  /**
   * Gives back the blocks of {@code seq} that hold only tokens before {@code token}, for a
   * sliding window: a query at position {@code p} with a window of {@code W} keys sees keys from
   * {@code p - W + 1} on, so each step, once its token is appended (the query is then at
   * {@code seq.length() - 1}), {@code releaseBefore(seq, seq.length() - W)} keeps every key the
   * step can see; a step of {@code n} queries (a prompt chunk, speculative drafts) releases before
   * {@code seq.length() - n - W + 1}, what its first query sees. The block holding {@code token}
   * stays, so the sequence may keep up to {@code blockTokens() - 1} tokens before it; positions do not move, and
   * {@link KvSequence#firstKey()} says where the held tokens start. Kernels refuse a call whose
   * queries could see a released token, as {@link #truncate} refuses to cut below it. A block
   * another sequence shares stays in the cache for that sequence. Releasing tokens already
   * released, or {@code token <= 0}, does nothing; a {@code token} past the sequence's length is
   * an {@link IllegalArgumentException}, and changes nothing.
   *
   * @return the blocks this sequence gave back
   */
  public synchronized int releaseBefore(KvSequence seq, int token) {
    checkLive(seq);
    if (token > seq.length) {
      throw new IllegalArgumentException("token must be <= the length " + seq.length
          + " of sequence " + seq.id + ", got " + token);
    }
    int drop = Math.max(0, token) / footprint.blockTokens() - seq.released;
    if (drop <= 0) {
      return 0;
    }
    int held = seq.blockCount - seq.released;
    for (int i = 0; i < drop; i++) {
      release(seq.blocks[i]);
    }
    System.arraycopy(seq.blocks, drop, seq.blocks, 0, held - drop);
    seq.released += drop;
    return drop;
  }

  /** Releases every block of {@code seq}; the handle is dead afterwards. */
  public synchronized void free(KvSequence seq) {
    checkLive(seq);
    for (int i = 0; i < seq.blockCount - seq.released; i++) {
      release(seq.blocks[i]);
    }
    seq.blockCount = 0;
    seq.released = 0;
    seq.length = 0;
    seq.freed = true;
    KvSequence last = live[--liveCount]; // plain stores: nothing here can fail
    live[seq.slot] = last;
    last.slot = seq.slot;
    live[liveCount] = null;
  }

  /** Adds {@code s} to the live sequences; only growing the table can fail, before any change. */
  private void enlist(KvSequence s) {
    if (liveCount == live.length) {
      live = java.util.Arrays.copyOf(live, live.length * 2);
    }
    s.slot = liveCount;
    live[liveCount++] = s;
  }

  private void release(int block) {
    if (--refCounts[block] == 0) {
      freeList[freeCount++] = block;
    }
  }

  MemorySegment keys(int block) {
    return lentKeys[block];
  }

  MemorySegment values(int block) {
    return lentValues[block];
  }

  // ---- accounting ----

  /**
   * Free blocks appending {@code tokens} tokens to {@code seq} takes now: the new blocks its
   * length needs, and one more when its partly filled last block is shared with a fork (the copy
   * made on the first write into it). A scheduler admits a step when the sum over the sequences
   * it appends to is at most {@link #freeBlocks()}, rather than meet a
   * {@link KvCacheFullException} part way through a batch; forks sharing one partly filled block
   * each count its copy, though the last to write finds it theirs alone, so the sum may be more
   * than the appends take, never less.
   */
  public synchronized int blocksToAppend(KvSequence seq, int tokens) {
    checkLive(seq);
    if (tokens < 0) {
      throw new IllegalArgumentException("tokens must be >= 0, got " + tokens);
    }
    return tokens == 0 ? 0 : blocksNeeded(seq, tokens);
  }

  /** As {@link #blocksToAppend} for a live sequence and {@code tokens >= 1}. */
  private int blocksNeeded(KvSequence seq, int tokens) {
    long newLength = (long) seq.length + tokens;
    if (newLength > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("a sequence holds fewer than 2^31 tokens; " + seq.length
          + " + " + tokens + " is too many");
    }
    long newBlocks = footprint.blocksFor(newLength) - seq.blockCount;
    return Math.toIntExact(newBlocks + (copiesLastBlock(seq) ? 1 : 0));
  }

  /** Whether an append to {@code seq} first copies its last block: partly filled and shared. */
  private boolean copiesLastBlock(KvSequence seq) {
    // A partly filled last block is never released: releaseBefore keeps the block of its token.
    return seq.length % footprint.blockTokens() != 0
        && refCounts[seq.blocks[seq.blockCount - seq.released - 1]] > 1;
  }

  /** Blocks the cache was created with. */
  public int capacityBlocks() {
    return capacityBlocks;
  }

  /** Blocks on the free list; none once the cache is closed. */
  public synchronized int freeBlocks() {
    return freeCount;
  }

  /** Blocks held by at least one sequence; none once the cache is closed. */
  public synchronized int usedBlocks() {
    return closed ? 0 : capacityBlocks - freeCount;
  }

  /** Bytes of keys and values the cache can hold: every block's payload. */
  public long capacityBytes() {
    return capacityBlocks * footprint.blockBytes();
  }

  /**
   * Off-heap bytes reserved, including the padding that keeps each block 64-byte aligned; none
   * once the cache is closed.
   */
  public synchronized long reservedBytes() {
    return closed ? 0 : 2 * stride * capacityBlocks;
  }

  /** Bytes of the blocks in use, each shared block counted once. */
  public synchronized long usedBytes() {
    return (long) usedBlocks() * footprint.blockBytes();
  }

  /**
   * Bytes in use but holding no token: the unfilled rows of partly filled blocks, each block
   * counted once (a shared block is as full as its fullest sequence makes it).
   */
  public synchronized long wasteBytes() {
    if (closed) {
      return 0;
    }
    if (fillScratch == null) {
      fillScratch = new int[capacityBlocks];
    }
    int[] fill = fillScratch;
    java.util.Arrays.fill(fill, 0); // first, so a call cut short earlier leaves nothing behind
    int blockTokens = footprint.blockTokens();
    for (int l = 0; l < liveCount; l++) {
      KvSequence s = live[l];
      for (int i = s.released; i < s.blockCount; i++) {
        int tokens = Math.min(blockTokens, s.length - i * blockTokens);
        int block = s.blocks[i - s.released];
        fill[block] = Math.max(fill[block], tokens);
      }
    }
    long waste = 0;
    for (int b = 0; b < capacityBlocks; b++) {
      if (refCounts[b] > 0) {
        waste += (blockTokens - fill[b]) * footprint.bytesPerToken();
      }
    }
    return waste;
  }

  /** Bytes of the blocks {@code seq} holds, shared ones included, released ones not. */
  public synchronized long sequenceBytes(KvSequence seq) {
    checkLive(seq);
    return (long) (seq.blockCount - seq.released) * footprint.blockBytes();
  }

  /**
   * K and V bytes a decode step over all the tokens {@code seq} holds reads, each cached row
   * once: from {@link KvSequence#firstKey()} to its length. (A sliding window narrower than that
   * reads only the window's rows, as the kernels' JFR events report.)
   */
  public synchronized long decodeBytesRead(KvSequence seq) {
    checkLive(seq);
    return footprint.decodeBytesRead(seq.length - seq.firstKey());
  }

  /**
   * K and V bytes the next decode step over {@code seq} reads under {@code options}: the rows its
   * query sees ({@link AttentionOptions#visibleKeys}), a sliding window's when it has one; the
   * figure a kernel's JFR event reports for that step.
   */
  public synchronized long decodeBytesRead(KvSequence seq, AttentionOptions options) {
    java.util.Objects.requireNonNull(options, "options");
    checkLive(seq);
    return footprint.decodeBytesRead(options.visibleKeys(1, seq.length));
  }

  /** The reference count of block {@code block}: how many sequences hold it. */
  public synchronized int referenceCount(int block) {
    if (block < 0 || block >= capacityBlocks) {
      throw new IndexOutOfBoundsException(
          "block must be in [0, " + capacityBlocks + "), got " + block);
    }
    return refCounts[block];
  }

  /** The live sequences, in no particular order. */
  public synchronized List<KvSequence> sequences() {
    return new ArrayList<>(java.util.Arrays.asList(live).subList(0, liveCount));
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the KV cache is closed");
    }
  }

  private void checkLive(KvSequence seq) {
    Objects.requireNonNull(seq, "seq");
    if (seq.cache != this) {
      throw new IllegalArgumentException("sequence " + seq.id + " belongs to another cache");
    }
    if (seq.freed) { // close() frees every sequence too
      throw seq.dead();
    }
  }

  /** Whether {@link #close()} has run. */
  public synchronized boolean isClosed() {
    return closed;
  }

  /**
   * Frees all memory; every sequence is dead afterwards, and a second call does nothing. While
   * some block is in use outside Java (a native call or an I/O operation on a lent segment), the
   * memory cannot be freed: this throws {@link IllegalStateException} and leaves the cache, its
   * sequences and its accounting as they were, so the close can be tried again. A kernel that is
   * reading a sequence when the cache closes fails with the memory's {@link
   * IllegalStateException} and may leave its output partly written: close a cache only once the
   * calls that read it have returned.
   */
  @Override
  public synchronized void close() {
    if (cleared) {
      return;
    }
    // First: if it refuses, nothing here has changed yet. A close cut short (a stack overflow in
    // the arena's cleanup, or in the clearing below) may have closed the arena already; a retry
    // then finishes the rest, since every step here can be repeated.
    if (arena.scope().isAlive()) {
      arena.close();
    }
    closed = true;
    for (int l = 0; l < liveCount; l++) {
      KvSequence s = live[l];
      s.closedWithCache = true; // before freed: a reader that sees it dead then says why
      s.freed = true;
      s.blockCount = 0;
      s.released = 0;
      s.length = 0;
    }
    java.util.Arrays.fill(live, 0, liveCount, null);
    liveCount = 0;
    // Nothing is held any more: the accounting says so rather than keep the last counts.
    java.util.Arrays.fill(refCounts, 0);
    freeCount = 0;
    cleared = true;
  }

  @Override
  public String toString() {
    return "PagedKvCache[" + footprint.type().label() + ", " + footprint.kvHeads() + "x"
        + footprint.headDim() + ", " + footprint.blockTokens() + " tokens/block, "
        + (closed ? "closed]" : (capacityBlocks - freeCount) + "/" + capacityBlocks + " blocks used]");
  }
}
