package io.mqa4j.simd;

import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.ContiguousKvCache;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvType;
import io.mqa4j.core.KvView;
import io.mqa4j.core.spi.AbstractAttentionKernel;
import io.mqa4j.core.spi.Checks;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Flash-attention style kernel in Vector API code. Work is cut into tasks of (KV head, block of
 * queries, split of the keys); every task streams its keys in tiles once for all the query heads
 * of the KV head's group, with an online softmax, so decode reads each K and V row once per step
 * whatever the group size. When there are too few (KV head, query block) pairs to keep every
 * thread busy (MQA decode above all), the keys are split across threads and the partial softmax
 * states merged exactly (flash-decoding).
 *
 * <p>Calls on one instance are serialised: each uses every thread of the pool.
 */
final class PanamaAttentionKernel extends AbstractAttentionKernel {

  /** Keys per tile: a multiple of every lane count, small enough that K and V tiles stay in L1. */
  static final int TILE = 64;
  /** Rows (query heads times queries) per task; more rows share each key load. */
  private static final int ROW_TARGET = 64;
  /** Below this many multiply-adds a call runs on the caller's thread alone. */
  private static final long PARALLEL_WORK = 1L << 16;
  /** Calls with at most this many rows (queries times query heads) stream all KV heads per task. */
  private static final int WIDE_ROWS = 256;
  /**
   * When a task streams several KV heads, it walks a few tokens across all of them before moving
   * on: this many (KV head, token) rows per step, so memory is read nearly in address order while
   * each head's run of keys is long enough to keep several loads in flight. Measured with 32 KV
   * heads (MHA decode, 16384 keys): on a Zen 5, 16 tokens per step took about 10% less time than
   * 8 for f32, bf16 and q8_0 alike, 32 and 64 no less than 16 (bf16 more); on a Zen 4, 8 had
   * beaten 4 by 20-25% and 16 by 10%. 16 is kept for the Zen 5, the machine of the latest
   * measurements; on a Zen 4 it may cost about 10%.
   */
  private static final int WIDE_STEP_ROWS = 512;
  /**
   * {@link #WIDE_STEP_ROWS} for groups of several rows per KV head that are not scored row by row
   * (q8_0 keys read across the heads): the step measured before 16 tokens were, which the Zen 5
   * runs did not measure for groups.
   */
  private static final int GROUP_STEP_ROWS = 256;
  /**
   * {@link #WIDE_STEP_ROWS} when a group of several rows is scored row by row
   * ({@link AttentionBody#rowByRow}): each row after the first reads the step's keys again from
   * L1, and a shorter step keeps more of them there (GQA 32/8 and 64/8, 16 tokens per step took
   * 13-23% less time than 32 for f32 and 1-19% less for bf16; with 4 KV heads 32 and 64 tokens
   * measured alike).
   */
  private static final int ROW_BY_ROW_STEP_ROWS = 128;
  /**
   * Tokens per step for f16 rows, the one type still widened per head before use in decode:
   * longer runs per head pay for the conversion's overhead (measured when q8_0 was widened the
   * same way: 16 beat 4, 8, 32 and 64). bf16 and q8_0 rows, read in place, take the f32 step
   * (on the Zen 4 with 32 KV heads, 8 tokens beat 4, 12, 16 and 24 for bf16 and q8_0 was within 4%
   * at 8 to 16; on the Zen 5, 16 beat 8 for both, see {@link #WIDE_STEP_ROWS}).
   */
  private static final int WIDE_TYPED_KEY_STEP = 16;
  /** Most floats of widened typed rows one tile may need (256 MiB a thread). */
  private static final long MAX_ROW_FLOATS = 1L << 26;
  /** Fewest keys worth a split of their own. */
  private static final int MIN_SPLIT_KEYS = 256;

  private final WorkerPool pool;
  private final Scratch[] scratch;
  private final ReentrantLock lock = new ReentrantLock();
  /**
   * Whether the lock's holder is inside its call: set once the lock is taken, cleared first thing
   * as the call ends (a field write, which no stack overflow can interrupt). The lock held without
   * it is a call's clean-up that a stack overflow cut short, not a call in progress.
   */
  private boolean active;
  private final Job job = new Job();
  private final Job[] workerJobs;
  private final Batch batch = new Batch();

  /**
   * Every SIMD kernel made in this JVM (one per thread count, kept for its life), so that a call
   * made from inside another kernel's call is refused as one from inside its own is.
   */
  private static volatile PanamaAttentionKernel[] made = new PanamaAttentionKernel[0];

  PanamaAttentionKernel(int threads) {
    this.pool = new WorkerPool(threads);
    this.scratch = new Scratch[threads];
    this.workerJobs = new Job[threads];
    for (int i = 0; i < threads; i++) {
      scratch[i] = new Scratch();
      workerJobs[i] = new Job();
    }
    synchronized (PanamaAttentionKernel.class) {
      PanamaAttentionKernel[] all = java.util.Arrays.copyOf(made, made.length + 1);
      all[all.length - 1] = this;
      made = all;
    }
  }

  @Override
  public String name() {
    return "simd";
  }

  @Override
  public String description() {
    return "simd kernel (Vector API, " + VectorConstants.SPECIES.vectorBitSize() + "-bit, "
        + VectorConstants.LANES + " float lanes, " + Checks.count(pool.size(), "thread") + ")";
  }

  /** Threads a call uses. */
  int threads() {
    return pool.size();
  }

  /**
   * Whether a call goes to the scalar kernel, which reads rows one element at a time: widened
   * rows of a tile would not fit one buffer (head dims past a million), or a task's query rows
   * would not fit one array (head dims past eight million).
   */
  private static boolean handsToScalar(AttentionShape shape, KvView kv) {
    return kv.type() != KvType.F32 && (long) TILE * shape.headDim() > MAX_ROW_FLOATS
        || rowsPassAnArray(shape);
  }

  /**
   * Whether a task's query rows could pass an array's length: a decode task holds up to
   * {@link #WIDE_ROWS} rows, a prefill task up to a group's (or {@link #ROW_TARGET}), each padded
   * to whole vectors.
   */
  private static boolean rowsPassAnArray(AttentionShape shape) {
    long rows = Math.max(WIDE_ROWS, (long) shape.groupSize() + VectorConstants.LANES);
    return rows * shape.headDim() > Integer.MAX_VALUE - 8;
  }

  @Override
  protected String runBy(AttentionShape shape, KvView kv) {
    return handsToScalar(shape, kv) ? AttentionKernels.scalar().name() : name();
  }

  @Override
  protected boolean readsArgumentStarts() {
    return true;
  }

  /** Reads every element type straight from the cache blocks. */
  @Override
  protected boolean supports(KvView view) {
    return true;
  }

  @Override
  protected void attend(AttentionShape shape, AttentionOptions options, int numQueries,
      MemorySegment q, long qOffset, KvView kv, MemorySegment out, long outOffset) {
    checkNotReentrant();
    if (handsToScalar(shape, kv)) {
      attendWith((AbstractAttentionKernel) AttentionKernels.scalar(), shape, options, numQueries,
          q, qOffset, kv, out, outOffset);
      return;
    }
    try {
      // Inside the try: near the stack's end, lock() can throw a StackOverflowError holding it.
      lock.lock();
      active = true;
      Job j = job;
      j.plan(shape, options, numQueries, q, qOffset, kv, out, outOffset, pool.size());
      long work = (long) numQueries * kv.length() * shape.queryHeads() * shape.headDim();
      if (work < PARALLEL_WORK || pool.size() == 1 || !sharedWithWorkers(q, out, kv)) {
        j.runSerially(0);
      } else {
        pool.run(j.taskCount(), j);
        if (j.splits > 1) {
          j.merging = true;
          pool.run(j.baseTasks, j);
        }
      }
    } finally {
      active = false;
      release();
    }
  }

  /**
   * Ends a call: waits for the workers, drops the call's state and releases the lock, in that
   * order, so no worker can run into the next call. A stack overflow in here leaves the lock held
   * and the rest undone; {@link #afterStackOverflow} then runs this again from a shallower frame.
   */
  private void release() {
    // Called by the frame that took the lock, or for it by the outermost call's frame or the
    // thread's next call (never by a nested one, which is refused before it locks): if held, the
    // lock is this thread's ended call's.
    if (lock.isHeldByCurrentThread()) { // active is already false: every call's finally clears it
      pool.awaitWorkers();
      job.clear();
      batch.clear();
      lock.unlock();
    }
  }

  /**
   * A stack overflow can cut a call short where its own {@code finally} blocks, at the same depth,
   * overflow too: the lock would stay held and the workers might still be running. From the
   * shallower frame that calls here, {@link #release} runs again.
   */
  @Override
  protected void afterStackOverflow() {
    release();
  }

  /**
   * Ends the pool's threads once a call in progress (another thread's) has returned; the next
   * call starts them again. Refused from inside a call of any SIMD kernel, whose pool it could
   * be.
   */
  void releaseThreads() {
    boolean inCall = WorkerPool.isAnyWorker(Thread.currentThread());
    for (PanamaAttentionKernel k : made) {
      inCall |= k.lock.isHeldByCurrentThread() && k.active;
    }
    if (inCall) {
      throw new IllegalStateException("releaseThreads was called from inside a simd kernel's "
          + "call (a KvView); call it once that call returns");
    }
    if (lock.isHeldByCurrentThread()) {
      release(); // this thread's last call ended in a stack overflow that cut its clean-up short
    }
    lock.lock();
    try {
      pool.stop();
    } finally {
      lock.unlock();
    }
  }

  /** Whether this thread is inside a call: a further one is then nested. */
  @Override
  protected boolean inCall() {
    return lock.isHeldByCurrentThread() && active;
  }

  /**
   * A call from inside a call (a {@link KvView} whose blocks call this kernel back) would take
   * over the job its caller is running, or, on a worker, wait for the caller forever.
   */
  private void checkNotReentrant() {
    if (lock.isHeldByCurrentThread() && !active) {
      release(); // this thread's last call ended in a stack overflow that cut its clean-up short
    }
    if (lock.isHeldByCurrentThread() || pool.isWorker(Thread.currentThread())) {
      throw new IllegalStateException("the simd kernel was called from inside one of its own "
          + "calls (a KvView that calls it back); call it again once the first call returns");
    }
    // Inside another SIMD kernel's call (a view of one calling the other): the two would wait
    // on each other's lock and workers, spinning, as soon as the other's view called back.
    boolean inOther = WorkerPool.isAnyWorker(Thread.currentThread());
    for (PanamaAttentionKernel k : made) {
      if (k.lock.isHeldByCurrentThread()) {
        if (k.active) {
          inOther = true;
        } else {
          k.release(); // as above, for that kernel's cut-short clean-up
        }
      }
    }
    if (inOther) {
      throw new IllegalStateException("the simd kernel was called from inside a call of another "
          + "simd kernel (a KvView that calls a kernel); call it once that call returns");
    }
  }

  /**
   * Whether the workers may read the call's memory: segments of a confined arena are the
   * caller's alone, so such a call runs on the caller's thread.
   */
  private boolean sharedWithWorkers(MemorySegment q, MemorySegment out, KvView kv) {
    if (!pool.shares(q) || !pool.shares(out)) {
      return false;
    }
    if (kv instanceof KvSequence || kv instanceof ContiguousKvCache) {
      return true; // the caches allocate from shared arenas
    }
    if (kv instanceof KvView.ContiguousKv c) {
      return pool.shares(c.keys()) && pool.shares(c.values());
    }
    int blocks = blockCount(kv);
    // A view of the caller's own may mix its memory; released blocks are not read.
    for (int b = kv.firstKey() / kv.blockTokens(); b < blocks; b++) {
      if (!pool.shares(kv.keyBlock(b)) || !pool.shares(kv.valueBlock(b))) {
        return false;
      }
    }
    return true;
  }

  private boolean sharedWithWorkers(MemorySegment q, MemorySegment out, KvView[] sequences) {
    for (KvView kv : sequences) {
      if (!sharedWithWorkers(q, out, kv)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Many sequences at once: each worker takes whole sequences (no merging) when they share out
   * evenly; a sequence longer than a thread's share runs alone first ({@link #sharedLimit}), its
   * keys split across every thread, so that one worker does not read it while the others wait;
   * with fewer sequences left than threads, each uses every thread in turn.
   */
  @Override
  protected void attendBatch(AttentionShape shape, AttentionOptions options, MemorySegment q,
      long qOffset, KvView[] sequences, MemorySegment out, long outOffset) {
    checkNotReentrant();
    if (sequences.length < pool.size() || !sharedWithWorkers(q, out, sequences)
        || (long) TILE * shape.headDim() > MAX_ROW_FLOATS || rowsPassAnArray(shape)) {
      // one call each, as attend decides
      super.attendBatch(shape, options, q, qOffset, sequences, out, outOffset);
      return;
    }
    long limit = sharedLimit(shape, sequences, options);
    long rowBytes = 4L * shape.queryStride();
    int shared = 0;
    for (int i = 0; i < sequences.length; i++) {
      if (runsAlone(shape, sequences[i], options, limit)) {
        attend(shape, options, 1, q, qOffset + i * rowBytes, sequences[i], out,
            outOffset + i * rowBytes);
      } else {
        shared++;
      }
    }
    if (shared < pool.size()) {
      for (int i = 0; i < sequences.length; i++) {
        if (!runsAlone(shape, sequences[i], options, limit)) {
          attend(shape, options, 1, q, qOffset + i * rowBytes, sequences[i], out,
              outOffset + i * rowBytes);
        }
      }
      return;
    }
    try {
      lock.lock(); // inside the try, as in attend
      active = true;
      // Under the lock: the order is the kernel's, and another thread's batch may be running.
      if (batch.order.length < sequences.length) {
        batch.order = new int[sequences.length];
      }
      shared = 0;
      for (int i = 0; i < sequences.length; i++) {
        if (!runsAlone(shape, sequences[i], options, limit)) {
          batch.order[shared++] = i;
        }
      }
      batch.shape = shape;
      batch.options = options;
      batch.q = q;
      batch.qOffset = qOffset;
      batch.sequences = sequences;
      batch.out = out;
      batch.outOffset = outOffset;
      pool.run(shared, batch);
    } finally {
      active = false;
      release();
    }
  }

  /**
   * The limit over which a sequence of a batch runs alone, its keys split across the threads,
   * rather than going whole to one worker: a thread's share of the keys of the sequences that do
   * not run alone. Each sequence over a thread's share of the whole batch runs alone, then each
   * over a thread's share of what is left, and so on (16384, 4000 and three of 16 keys on two
   * threads: the 16384, then the 4000, then the three 16s shared), so that no worker reads a
   * long sequence while another waits. A sequence too short to split ({@link #splits}) stays
   * shared whatever its length: alone, it would run on one thread while the others wait.
   */
  private long sharedLimit(AttentionShape shape, KvView[] sequences, AttentionOptions options) {
    long limit = Long.MAX_VALUE;
    while (true) {
      long total = 0;
      for (KvView kv : sequences) {
        if (!runsAlone(shape, kv, options, limit)) {
          total += keysRead(kv, options);
        }
      }
      long share = total / pool.size();
      boolean over = false;
      for (KvView kv : sequences) {
        over |= !runsAlone(shape, kv, options, limit) && runsAlone(shape, kv, options, share);
      }
      if (!over) {
        return limit;
      }
      limit = share;
    }
  }

  /** Whether {@code kv} runs alone under {@code limit}: over it, and long enough to split. */
  private static boolean runsAlone(AttentionShape shape, KvView kv, AttentionOptions options,
      long limit) {
    long keys = keysRead(kv, options);
    return keys > limit && splits(shape, keys);
  }

  /**
   * Whether a decode step over {@code keys} keys is split across threads, as {@link #attend}
   * and {@link Job#plan} decide: enough work, and at least two splits' worth of keys.
   */
  private static boolean splits(AttentionShape shape, long keys) {
    return keys >= 2L * MIN_SPLIT_KEYS
        && keys * shape.queryHeads() * shape.headDim() >= PARALLEL_WORK;
  }

  /** Keys a decode step over {@code kv} reads: those its query sees. */
  private static long keysRead(KvView kv, AttentionOptions options) {
    return options.visibleKeys(1, kv.length());
  }

  /**
   * The body of a batched decode: task {@code t} attends sequence {@code order[t]} on one worker.
   */
  private final class Batch implements WorkerPool.Body {
    /** The sequences the workers share, by index; grown, never shrunk, so calls allocate nothing. */
    int[] order = new int[0];
    AttentionShape shape;
    AttentionOptions options;
    MemorySegment q;
    long qOffset;
    KvView[] sequences;
    MemorySegment out;
    long outOffset;

    /** Drops the call's arguments, so the kernel holds none of the caller's memory between calls. */
    void clear() {
      shape = null;
      options = null;
      q = null;
      qOffset = 0;
      sequences = null;
      out = null;
      outOffset = 0;
    }

    @Override
    public void run(int task, int worker) {
      int index = order[task];
      long row = 4L * index * shape.queryStride();
      Job j = workerJobs[worker];
      try { // plan may fail (growing its buffers): clear drops the call's memory all the same
        j.plan(shape, options, 1, q, qOffset + row, sequences[index], out, outOffset + row, 1);
        j.runSerially(worker);
      } finally {
        j.clear();
      }
    }
  }

  /** One call's plan and its task body; reused across calls so a call allocates nothing. */
  private final class Job implements WorkerPool.Body {
    AttentionShape shape;
    AttentionOptions options;
    MemorySegment q;
    long qOffset;
    KvView kv;
    MemorySegment out;
    long outOffset;
    int numQueries;
    int numKeys;
    int queriesPerBlock;
    int queryBlocks;
    /** KV heads one task streams: all of them in decode (memory is read in order), else one. */
    int kvHeadsPerTask;
    int baseTasks;
    int splits;
    boolean merging;
    float[] partials = new float[0];

    void plan(AttentionShape shape, AttentionOptions options, int numQueries, MemorySegment q,
        long qOffset, KvView kv, MemorySegment out, long outOffset, int threads) {
      this.shape = shape;
      this.options = options;
      this.q = q;
      this.qOffset = qOffset;
      this.kv = kv;
      this.out = out;
      this.outOffset = outOffset;
      this.numQueries = numQueries;
      this.numKeys = kv.length();
      int group = shape.groupSize();
      if ((long) numQueries * shape.queryHeads() <= WIDE_ROWS) {
        // Few rows (decode): one task walks every KV head of a token before the next token, so
        // K and V stream from memory in address order; threads split the keys instead.
        kvHeadsPerTask = shape.kvHeads();
        queriesPerBlock = numQueries;
      } else {
        kvHeadsPerTask = 1;
        queriesPerBlock = Math.min(numQueries, Math.max(1, ROW_TARGET / group));
      }
      queryBlocks = Math.ceilDiv(numQueries, queriesPerBlock); // numQueries may be near 2^31
      baseTasks = shape.kvHeads() / kvHeadsPerTask * queryBlocks;
      int wanted = baseTasks >= 2 * threads ? 1 : (2 * threads + baseTasks - 1) / baseTasks;
      splits = Math.max(1, Math.min(wanted, numKeys / MIN_SPLIT_KEYS));
      merging = false;
      if (splits > 1) {
        long need = (long) baseTasks * splits * rowsPerTask() * (shape.headDim() + 2);
        if (partials.length < need) {
          partials = new float[Math.toIntExact(need)];
        }
      }
    }

    int rowsPerTask() {
      return kvHeadsPerTask * queriesPerBlock * shape.groupSize();
    }

    int taskCount() {
      return baseTasks * splits;
    }

    /** Runs every task, then the merge, on the calling thread with {@code worker}'s scratch. */
    void runSerially(int worker) {
      int tasks = taskCount();
      for (int t = 0; t < tasks; t++) {
        run(t, worker);
      }
      if (splits > 1) {
        merging = true;
        for (int t = 0; t < baseTasks; t++) {
          run(t, worker);
        }
      }
    }

    void clear() {
      q = null;
      kv = null;
      out = null;
      options = null;
    }

    @Override
    public void run(int task, int worker) {
      Scratch s = scratch[worker];
      if (merging) {
        merge(task, s);
      } else {
        attendTask(task / splits, task % splits, s);
      }
    }

    // Rows of a task are ordered (KV head, query, query head within the group).
    private int headOfRow(int firstKvHead, int rowsPerHead, int r) {
      int group = shape.groupSize();
      return (firstKvHead + r / rowsPerHead) * group + r % group;
    }

    private int queryOfRow(int firstQuery, int rowsPerHead, int r) {
      return firstQuery + (r % rowsPerHead) / shape.groupSize();
    }

    private void attendTask(int base, int split, Scratch s) {
      int headDim = shape.headDim();
      int group = shape.groupSize();
      int heads = shape.queryHeads();
      int firstKvHead = base / queryBlocks * kvHeadsPerTask;
      int firstQuery = (base % queryBlocks) * queriesPerBlock;
      int queries = Math.min(queriesPerBlock, numQueries - firstQuery);
      int rowsPerHead = queries * group;
      int rows = kvHeadsPerTask * rowsPerHead;
      boolean lanes = kvHeadsPerTask == 1 && laneRows(rows);
      int rowPad = lanes ? roundUpToLanes(rows) : rows;
      s.ensure(rowPad, queries, headDim, TILE);
      if (lanes) {
        s.ensureLanes(rowPad, headDim);
      }
      if (kv.type() != KvType.F32) {
        s.ensureRows(TILE * headDim);
      }

      int lo = Integer.MAX_VALUE;
      int hi = 0;
      for (int qi = 0; qi < queries; qi++) {
        int position = numKeys - numQueries + firstQuery + qi;
        int from = options.firstVisibleKey(position);
        int to = options.endVisibleKey(position, numKeys);
        s.position[qi] = position;
        s.from[qi] = from;
        s.to[qi] = to;
        if (from < to) {
          lo = Math.min(lo, from);
          hi = Math.max(hi, to);
        }
      }
      for (int r = 0; r < rows; r++) {
        s.max[r] = Float.NEGATIVE_INFINITY;
        s.sum[r] = 0f;
        s.slope[r] = options.alibiSlope(headOfRow(firstKvHead, rowsPerHead, r), heads);
      }
      float scale = options.scaleFor(headDim);
      s.scoreScale = 1f;
      // A scale above 1 can overflow the partial sums of (scale * q) . k where those of q . k
      // and scale * (q . k) stay finite, so only a scale of at most 1 is folded into q.
      if (scale > 1f
          || loadQueries(s, firstKvHead, firstQuery, rowsPerHead, rows, scale) && scale != 1f) {
        // scale * q overflowed (or q holds a NaN or an infinity), or the scale is above 1: the
        // scale goes on the dot products instead, scale * (q . k), as in the scalar kernel.
        loadQueries(s, firstKvHead, firstQuery, rowsPerHead, rows, 1f);
        s.scoreScale = scale;
      }
      s.q8InPlace = kv.type() == KvType.Q8_0 && q8InPlaceFits(s.q, rows * headDim);
      java.util.Arrays.fill(s.acc, 0, rowPad * headDim, 0f);
      if (lanes) {
        transposeQueries(s, rows, rowPad, headDim);
      }
      // bf16 rows are read in place by Bf16Body, whose loops want queries in even-odd order.
      boolean evenOdd = !lanes && kv.type() == KvType.BF16;
      if (evenOdd) {
        for (int r = 0; r < rows; r++) {
          Bf16Body.toEvenOdd(s.q, r * headDim, headDim, s.chunk);
        }
      }

      if (lo < hi) {
        // This split's share of the keys, in whole tiles.
        int span = hi - lo;
        int perSplit = ((span + splits - 1) / splits + TILE - 1) / TILE * TILE;
        int kLo = Math.min(hi, lo + split * perSplit);
        int kHi = Math.min(hi, kLo + perSplit);
        if (lanes) {
          streamKeysLaneRows(firstKvHead, rows, rowPad, queries, kLo, kHi, s);
        } else {
          streamKeys(firstKvHead, rowsPerHead, queries, kLo, kHi, s);
        }
      }

      if (evenOdd) {
        for (int r = 0; r < rows; r++) {
          Bf16Body.fromEvenOdd(s.acc, r * headDim, headDim, s.chunk);
        }
      }
      float[] acc = s.acc;
      if (transposedAcc(lanes, rowPad)) { // back to one row after another, in the spare q buffer
        Transpose.transpose(s.acc, 0, rowPad, headDim, rows, s.q, 0, headDim);
        acc = s.q;
      }
      if (splits == 1 && rowsPerHead == group) {
        // One query: its rows are consecutive heads of out as of acc, copied out in one go.
        for (int r = 0; r < rows; r++) {
          AttentionBody.scaleRow(acc, r * headDim,
              finishFactor(s.max[r], s.sum[r], headOfRow(firstKvHead, rowsPerHead, r)), headDim);
        }
        long outRow = outOffset + 4L * ((long) firstQuery * heads
            + headOfRow(firstKvHead, rowsPerHead, 0)) * headDim;
        AttentionBody.copyOut(acc, 0, out, outRow, rows * headDim);
      } else if (splits == 1) {
        for (int r = 0; r < rows; r++) {
          finishRow(acc, r * headDim, s.max[r], s.sum[r], headOfRow(firstKvHead, rowsPerHead, r),
              queryOfRow(firstQuery, rowsPerHead, r));
        }
      } else {
        int stride = headDim + 2;
        int at = (base * splits + split) * rowsPerTask() * stride;
        for (int r = 0; r < rows; r++, at += stride) {
          partials[at] = s.max[r];
          partials[at + 1] = s.sum[r];
          System.arraycopy(acc, r * headDim, partials, at + 2, headDim);
        }
      }
    }

    /**
     * Whether {@link Q8Body}'s scores may read q8_0 keys in place for the query rows
     * {@code q[0, n)}: they sum a block's unscaled bytes (up to 127) times q before applying the
     * block's scale, and those sums pass the float range once an element of q reaches
     * {@code MAX_VALUE / (32 * 127)}, where q . k itself may not. Such queries take the widened
     * keys, whose elements are the scaled values.
     */
    private static boolean q8InPlaceFits(float[] q, int n) {
      float limit = Float.MAX_VALUE / (KvType.Q8_0_BLOCK * 127f);
      for (int i = 0; i < n; i++) {
        if (!(Math.abs(q[i]) < limit)) {
          return false;
        }
      }
      return true;
    }

    /**
     * Loads the task's query rows into {@code s.q}, each multiplied by {@code c}, and says
     * whether any element came out NaN or infinite.
     */
    private boolean loadQueries(Scratch s, int firstKvHead, int firstQuery, int rowsPerHead,
        int rows, float c) {
      int headDim = shape.headDim();
      int heads = shape.queryHeads();
      if (rowsPerHead == shape.groupSize()) {
        // One query: its rows are the task's heads one after another in q, copied in one go.
        int head = headOfRow(firstKvHead, rowsPerHead, 0);
        long qRow = qOffset + 4L * ((long) firstQuery * heads + head) * headDim;
        AttentionBody.copyIn(q, qRow, s.q, 0, rows * headDim);
        boolean nonFinite = false;
        for (int r = 0; r < rows; r++) {
          nonFinite |= AttentionBody.scaleLoaded(s.q, r * headDim, c, headDim);
        }
        return nonFinite;
      }
      boolean nonFinite = false;
      for (int r = 0; r < rows; r++) {
        int head = headOfRow(firstKvHead, rowsPerHead, r);
        int query = queryOfRow(firstQuery, rowsPerHead, r);
        long qRow = qOffset + 4L * ((long) query * heads + head) * headDim;
        nonFinite |= AttentionBody.loadScaled(q, qRow, c, s.q, r * headDim, headDim);
      }
      return nonFinite;
    }

    private void streamKeys(int firstKvHead, int rowsPerHead, int queries, int kLo, int kHi,
        Scratch s) {
      int headDim = shape.headDim();
      int group = shape.groupSize();
      int blockTokens = kv.blockTokens();
      long tokenBytes = kv.tokenBytes();
      KvType type = kv.type();
      boolean typed = type != KvType.F32;
      long headBytes = type.headBytes(headDim);
      long keyStart = keyStart(kv);
      long valueStart = valueStart(kv);
      float softCap = options.softCap();
      // Decode from memory: at resident head dims a group's rows take one pass each, the first
      // bringing the keys (and for bf16 the values) into L1 for the others. f16 rows, widened
      // into L1 first, and prefill's blocks, bound by computation, keep the four-row loops.
      boolean rowByRow = kvHeadsPerTask > 1 && (type == KvType.BF16 || type == KvType.F32)
          && AttentionBody.rowByRow(rowsPerHead, headDim);
      // Several KV heads per task (decode): walk a few tokens across all heads at a time, so
      // memory is read nearly in address order; one head per task (prefill): the whole tile.
      int stepRows = rowsPerHead == 1 ? WIDE_STEP_ROWS
          : rowByRow ? ROW_BY_ROW_STEP_ROWS : GROUP_STEP_ROWS;
      int keyStep = kvHeadsPerTask == 1 ? TILE
          : type == KvType.F16 ? WIDE_TYPED_KEY_STEP
          : Math.max(4, Math.min(TILE, stepRows / kvHeadsPerTask));
      for (int first = kLo; first < kHi; ) {
        int block = first / blockTokens;
        int n = tileKeys(first, kHi, blockTokens);
        int tileStart = first;
        first += n;
        if (!anyVisible(s, queries, tileStart, tileStart + n)) {
          continue; // a fully masked tile (causal or window) costs nothing
        }
        MemorySegment keys = kv.keyBlock(block);
        MemorySegment values = kv.valueBlock(block);
        long tileBase = (tileStart - (long) block * blockTokens) * tokenBytes;
        for (int from = 0; from < n; from += keyStep) {
          int to = Math.min(n, from + keyStep);
          long base = keyStart + tileBase + firstKvHead * headBytes;
          // q8_0 keys of groups of four or more: read across the heads in address order. bf16
          // and f32 rows, whole cache lines, measured slower walked that way and stay head-major.
          if (s.q8InPlace && kvHeadsPerTask > 1 && rowsPerHead >= 4) {
            Q8Body.scoresAcrossHeads(s.q, rowsPerHead, kvHeadsPerTask, headDim, keys, base,
                headBytes, tokenBytes, from, to, s.scores, TILE);
            continue;
          }
          for (int g = 0; g < kvHeadsPerTask; g++) {
            int row0 = g * rowsPerHead;
            if (type == KvType.BF16) {
              Bf16Body.scores(s.q, row0 * headDim, rowsPerHead, headDim, keys,
                  base + g * headBytes, tokenBytes, from, to, s.scores, row0 * TILE, TILE,
                  rowByRow);
            } else if (s.q8InPlace) {
              Q8Body.scores(s.q, row0 * headDim, rowsPerHead, headDim, keys,
                  base + g * headBytes, tokenBytes, from, to, s.scores, row0 * TILE, TILE);
            } else if (typed) {
              // f16 (and q8_0 under huge queries): widen this head's rows into a buffer that
              // stays in L1; the group's rows reuse it.
              TypedRows.convert(type, keys, base + g * headBytes, tokenBytes, from, to, 1, headDim, s.rowsSeg);
              AttentionBody.scores(s.q, s.qSeg, row0 * headDim, rowsPerHead, headDim, s.rowsSeg,
                  -4L * from * headDim, 4L * headDim, from, to, s.scores, row0 * TILE, TILE,
                  false);
            } else {
              AttentionBody.scores(s.q, s.qSeg, row0 * headDim, rowsPerHead, headDim, keys,
                  base + g * headBytes, tokenBytes, from, to, s.scores, row0 * TILE, TILE,
                  rowByRow);
            }
          }
        }
        int rows = kvHeadsPerTask * rowsPerHead;
        // Tiles end at cache blocks (16 tokens by default): the softmax covers the tile's keys
        // rounded up to whole vectors, not TILE.
        int width = roundUpToLanes(n);
        boolean zeroWeights = false; // a key of weight 0 in some row's range; see NonFiniteValues
        for (int r = 0; r < rows; r++) {
          int qi = (r % rowsPerHead) / group;
          int rowTo = Math.min(s.to[qi], tileStart + n);
          float correction = AttentionBody.softmaxRow(s.scores, r * TILE, width, tileStart,
              s.from[qi], rowTo, s.position[qi], s.scoreScale, softCap, s.slope[r], s.max,
              s.sum, r);
          zeroWeights |= s.from[qi] > tileStart || rowTo < tileStart + n;
          if (correction != 1f) {
            AttentionBody.scale(s.acc, s.accSeg, r * headDim, headDim, correction);
          }
        }
        // Weights now: a 0 among the keys a row sees is a logit of minus infinity however it
        // came (scale, soft-cap, ALiBi), or an underflow. No row's mask cuts this tile, so every
        // row sees all n keys; a whole tile's rows are one block of weights.
        if (!zeroWeights) {
          zeroWeights = n == TILE ? NonFiniteValues.anyZeroBlock(s.scores, 0, rows * TILE)
              : NonFiniteValues.anyZeroInRows(s.scores, TILE, rows, n);
        }
        if (zeroWeights && sumsNonFiniteTile(s, values,
            valueStart + tileBase + firstKvHead * headBytes, n, rowsPerHead)) {
          continue;
        }
        for (int from = 0; from < n; from += keyStep) {
          int to = Math.min(n, from + keyStep);
          long base = valueStart + tileBase + firstKvHead * headBytes;
          for (int g = 0; g < kvHeadsPerTask; g++) {
            int row0 = g * rowsPerHead;
            if (type == KvType.BF16) {
              Bf16Body.accumulate(s.acc, row0 * headDim, rowsPerHead, headDim, s.scores,
                  row0 * TILE, TILE, 1, values, base + g * headBytes, tokenBytes, from, to,
                  rowByRow);
            } else if (type == KvType.Q8_0) {
              Q8Body.accumulate(s.acc, row0 * headDim, rowsPerHead, headDim, s.scores,
                  row0 * TILE, TILE, 1, values, base + g * headBytes, tokenBytes, from, to);
            } else if (typed) {
              TypedRows.convert(type, values, base + g * headBytes, tokenBytes, from, to, 1, headDim, s.rowsSeg);
              AttentionBody.accumulate(s.acc, s.accSeg, row0 * headDim, rowsPerHead, headDim,
                  s.scores, row0 * TILE, TILE, 1, s.rowsSeg, -4L * from * headDim, 4L * headDim, from, to);
            } else {
              AttentionBody.accumulate(s.acc, s.accSeg, row0 * headDim, rowsPerHead, headDim,
                  s.scores, row0 * TILE, TILE, 1, values, base + g * headBytes, tokenBytes, from, to);
            }
          }
        }
      }
    }

    /**
     * {@code qT[x * rowPad + r] = q[r * headDim + x]} (the scaled query rows), zero for the
     * padding rows, whose softmax state is set so that they never force masking or rescaling.
     */
    private void transposeQueries(Scratch s, int rows, int rowPad, int headDim) {
      Transpose.transpose(s.q, 0, headDim, rows, headDim, s.qT, 0, rowPad);
      for (int r = rows; r < rowPad; r++) {
        for (int x = 0; x < headDim; x++) {
          s.qT[x * rowPad + r] = 0f;
        }
        s.max[r] = Float.NEGATIVE_INFINITY;
        s.sum[r] = 0f;
        s.slope[r] = 0f;
        s.posRel[r] = 0f;
        s.low[r] = -1f;
        s.high[r] = TILE + 1;
      }
    }

    /**
     * {@link #streamKeys} for one KV head whose rows fill vectors: the loops of
     * {@link LaneRowsBody} run with the lanes across rows, so scores need no horizontal sums.
     */
    private void streamKeysLaneRows(int kvHead, int rows, int rowPad, int queries, int kLo, int kHi,
        Scratch s) {
      int headDim = shape.headDim();
      int group = shape.groupSize();
      int blockTokens = kv.blockTokens();
      long tokenBytes = kv.tokenBytes();
      KvType type = kv.type();
      boolean typed = type != KvType.F32;
      long headOffset = kvHead * type.headBytes(headDim);
      long keyStart = keyStart(kv);
      long valueStart = valueStart(kv);
      float softCap = options.softCap();
      boolean alibi = false;
      for (int r = 0; r < rows; r++) {
        alibi |= s.slope[r] != 0f;
      }
      for (int first = kLo; first < kHi; ) {
        int block = first / blockTokens;
        int n = tileKeys(first, kHi, blockTokens);
        int tileStart = first;
        first += n;
        if (!anyVisible(s, queries, tileStart, tileStart + n)) {
          continue;
        }
        MemorySegment keys = kv.keyBlock(block);
        MemorySegment values = kv.valueBlock(block);
        long base = (tileStart - (long) block * blockTokens) * tokenBytes + headOffset;
        if (typed) {
          TypedRows.convert(type, keys, keyStart + base, tokenBytes, 0, n, 1, headDim,
              s.rowsSeg);
          LaneRowsBody.scores(s.qT, rowPad, headDim, s.rowsSeg, 0, 4L * headDim, n, s.scores);
        } else {
          LaneRowsBody.scores(s.qT, rowPad, headDim, keys, keyStart + base, tokenBytes, n,
              s.scores);
        }
        boolean masked = false;
        for (int r = 0; r < rows; r++) {
          int qi = r / group;
          int low = s.from[qi] - tileStart;
          int high = Math.min(s.to[qi], tileStart + n) - tileStart;
          masked |= low > 0 || high < n;
          // Clamped so the float compares stay exact however long the sequence.
          s.low[r] = Math.max(low, -1);
          s.high[r] = Math.max(-1, Math.min(high, n + 1));
          s.posRel[r] = s.position[qi] - tileStart;
        }
        LaneRowsBody.softmax(s.scores, rowPad, n, masked, s.low, s.high, s.scoreScale, softCap,
            alibi, s.slope, s.posRel, s.max, s.sum, s.correction);
        // See NonFiniteValues: a weight of 0 in a tile no mask cuts is a logit of minus infinity.
        boolean zeroWeights = masked || (rows == rowPad
            ? NonFiniteValues.anyZeroBlock(s.scores, 0, n * rowPad)
            : NonFiniteValues.anyZeroAcrossRows(s.scores, rowPad, rows, n));
        if (typed) {
          TypedRows.convert(type, values, valueStart + base, tokenBytes, 0, n, 1, headDim,
              s.rowsSeg);
        }
        MemorySegment v = typed ? s.rowsSeg : values;
        long vBase = typed ? 0 : valueStart + base;
        long vStride = typed ? 4L * headDim : tokenBytes;
        // See NonFiniteValues: a cut tile whose values are not all finite is summed key by key.
        boolean exact = zeroWeights && NonFiniteValues.any(v, vBase, vStride, n, headDim);
        if (transposedAcc(true, rowPad)) {
          boolean rescale = false;
          for (int r = 0; r < rows; r++) {
            rescale |= s.correction[r] != 1f;
          }
          if (rescale) {
            LaneRowsBody.rescale(s.acc, rowPad, headDim, s.correction);
          }
          if (exact) {
            NonFiniteValues.accumulate(s.acc, 0, 1, rowPad, rows, headDim, s.scores, 0, 1, rowPad,
                v, vBase, vStride, n);
          } else {
            LaneRowsBody.accumulate(s.acc, rowPad, headDim, s.scores, v, vBase, vStride, n);
          }
        } else {
          for (int r = 0; r < rows; r++) {
            if (s.correction[r] != 1f) {
              AttentionBody.scale(s.acc, s.accSeg, r * headDim, headDim, s.correction[r]);
            }
          }
          if (exact) {
            NonFiniteValues.accumulate(s.acc, 0, headDim, 1, rows, headDim, s.scores, 0, 1, rowPad,
                v, vBase, vStride, n);
          } else {
            AttentionBody.accumulate(s.acc, s.accSeg, 0, rows, headDim, s.scores, 0, 1, rowPad, v,
                vBase, vStride, 0, n);
          }
        }
      }
    }

    /**
     * For a tile where some row has a key of weight 0: when the values of the task's heads hold
     * a NaN or an infinity, sums the tile by {@link NonFiniteValues} and returns true; otherwise
     * does nothing and returns false, and the vector loops sum it.
     */
    private boolean sumsNonFiniteTile(Scratch s, MemorySegment values, long base, int n,
        int rowsPerHead) {
      int headDim = shape.headDim();
      KvType type = kv.type();
      boolean f32 = type == KvType.F32;
      long headBytes = type.headBytes(headDim);
      // f32 rows are read in place; other types widened one head at a time into s.rowsSeg.
      long rowStride = f32 ? kv.tokenBytes() : 4L * headDim;
      boolean found = false;
      for (int g = 0; g < kvHeadsPerTask && !found; g++) {
        long headBase = base + g * headBytes;
        found = f32 ? NonFiniteValues.any(values, headBase, rowStride, n, headDim)
            : NonFiniteValues.any(widened(s, values, headBase, n), 0, rowStride, n, headDim);
      }
      if (!found) {
        return false;
      }
      // bf16 accumulators are kept in Bf16Body's even-odd order; the widened rows are not.
      boolean evenOdd = type == KvType.BF16;
      for (int g = 0; g < kvHeadsPerTask; g++) {
        int row0 = g * rowsPerHead;
        long headBase = base + g * headBytes;
        MemorySegment rows = f32 ? values : widened(s, values, headBase, n);
        for (int r = row0; evenOdd && r < row0 + rowsPerHead; r++) {
          Bf16Body.fromEvenOdd(s.acc, r * headDim, headDim, s.chunk);
        }
        NonFiniteValues.accumulate(s.acc, row0 * headDim, headDim, 1, rowsPerHead, headDim,
            s.scores, row0 * TILE, TILE, 1, rows, f32 ? headBase : 0, rowStride, n);
        for (int r = row0; evenOdd && r < row0 + rowsPerHead; r++) {
          Bf16Body.toEvenOdd(s.acc, r * headDim, headDim, s.chunk);
        }
      }
      return true;
    }

    /** One head's rows {@code [0, n)} of a typed tile as floats, in the scratch row buffer. */
    private MemorySegment widened(Scratch s, MemorySegment values, long headBase, int n) {
      TypedRows.convert(kv.type(), values, headBase, kv.tokenBytes(), 0, n, 1, shape.headDim(),
          s.rowsSeg);
      return s.rowsSeg;
    }

    /**
     * Keys in the tile that starts at {@code first}: at most {@link #TILE}, none past
     * {@code kHi}, and none past the end of the cache block, so all its keys share one segment.
     */
    private static int tileKeys(int first, int kHi, int blockTokens) {
      int blockEnd = (first / blockTokens + 1) * blockTokens;
      return Math.min(Math.min(TILE, kHi - first), blockEnd - first);
    }

    private boolean anyVisible(Scratch s, int queries, int first, int end) {
      for (int qi = 0; qi < queries; qi++) {
        if (s.from[qi] < end && s.to[qi] > first) {
          return true;
        }
      }
      return false;
    }

    /** Merges the splits' partial softmax states of one base task exactly. */
    private void merge(int base, Scratch s) {
      int headDim = shape.headDim();
      int group = shape.groupSize();
      int firstKvHead = base / queryBlocks * kvHeadsPerTask;
      int firstQuery = (base % queryBlocks) * queriesPerBlock;
      int queries = Math.min(queriesPerBlock, numQueries - firstQuery);
      int rowsPerHead = queries * group;
      int rows = kvHeadsPerTask * rowsPerHead;
      int stride = headDim + 2;
      int rowsPerTask = rowsPerTask();
      s.ensure(rows, queries, headDim, TILE);
      for (int r = 0; r < rows; r++) {
        float top = Float.NEGATIVE_INFINITY;
        for (int sp = 0; sp < splits; sp++) {
          int at = ((base * splits + sp) * rowsPerTask + r) * stride;
          if (partials[at + 1] != 0f) {
            top = Math.max(top, partials[at]);
          }
        }
        java.util.Arrays.fill(s.acc, 0, headDim, 0f);
        float sum = 0f;
        if (top != Float.NEGATIVE_INFINITY) {
          for (int sp = 0; sp < splits; sp++) {
            int at = ((base * splits + sp) * rowsPerTask + r) * stride;
            float partSum = partials[at + 1];
            if (partSum == 0f) {
              continue;
            }
            float w = (float) Math.exp(partials[at] - top);
            sum += partSum * w;
            AttentionBody.addScaled(partials, at + 2, w, s.acc, 0, headDim);
          }
        }
        finishRow(s.acc, 0, top, sum, headOfRow(firstKvHead, rowsPerHead, r),
            queryOfRow(firstQuery, rowsPerHead, r));
      }
    }

    /** Writes one output row: the accumulator over the softmax denominator (sink included). */
    private void finishRow(float[] acc, int accOff, float max, float sum, int head, int query) {
      int headDim = shape.headDim();
      long outRow = outOffset + 4L * ((long) query * shape.queryHeads() + head) * headDim;
      AttentionBody.store(acc, accOff, finishFactor(max, sum, head), out, outRow, headDim);
    }

    /** What a finished row's sums are multiplied by: 1 over the softmax's denominator. */
    private float finishFactor(float max, float sum, int head) {
      if (sum == 0f) {
        return 0f;
      }
      float sink = options.sink(head);
      float top = Math.max(max, sink);
      float keep = (float) Math.exp(max - top);
      return keep / (sum * keep + (float) Math.exp(sink - top));
    }
  }

  /**
   * Whether a lane-rows task keeps its accumulator transposed, {@code [headDim][rowPad]}, and
   * sums values with {@link LaneRowsBody#accumulate}: with four vectors of rows or more, where
   * each broadcast value element feeds four multiply-adds (measured 5-7% faster prefill); with
   * fewer (MQA decode: 32 rows), rows stay whole and {@link AttentionBody#accumulate} loads each
   * value vector once for four rows.
   */
  static boolean transposedAcc(boolean lanes, int rowPad) {
    return lanes && rowPad >= 4 * VectorConstants.LANES;
  }

  /**
   * Whether a KV head's {@code rows} run with the lanes across rows: they fill at least one
   * vector, and padding to whole vectors wastes at most a quarter of the work.
   */
  static boolean laneRows(int rows) {
    int pad = roundUpToLanes(rows);
    return rows >= VectorConstants.LANES && (pad - rows) * 4 <= pad;
  }

  private static int roundUpToLanes(int rows) {
    int lanes = VectorConstants.LANES;
    return (rows + lanes - 1) / lanes * lanes;
  }

  /** One thread's working memory, grown on demand and then reused. */
  static final class Scratch {
    float[] q = new float[0];
    float[] acc = new float[0];
    MemorySegment qSeg = MemorySegment.ofArray(q);
    MemorySegment accSeg = MemorySegment.ofArray(acc);
    float[] scores = new float[0];
    float[] max = new float[0];
    float[] sum = new float[0];
    float[] slope = new float[0];
    /** What the softmax multiplies the scores by: 1 when the queries were loaded pre-scaled. */
    float scoreScale = 1f;
    /** Whether q8_0 keys are scored in place by {@link Q8Body}, rather than widened first. */
    boolean q8InPlace;
    int[] position = new int[0];
    int[] from = new int[0];
    int[] to = new int[0];
    /**
     * Converted f16, bf16 or q8_0 rows of keys or values, off-heap: the Vector API's segment
     * loads share one type profile in the JDK, and heap and native segments mixed in it made
     * the kernel's loops 40% slower.
     */
    MemorySegment rowsSeg = MemorySegment.NULL;

    void ensureRows(int floats) {
      if (rowsSeg.byteSize() < 4L * floats) {
        // An automatic arena of its own, so that a buffer outgrown is freed with its arena.
        rowsSeg = Arena.ofAuto().allocate(4L * floats, 64);
      }
    }

    /** Transposed queries and per-row lane state of {@link LaneRowsBody}. */
    float[] qT = new float[0];
    float[] low = new float[0];
    float[] high = new float[0];
    float[] posRel = new float[0];
    float[] correction = new float[0];
    /** One chunk of {@link Bf16Body}'s even-odd reordering. */
    final float[] chunk = new float[2 * VectorConstants.LANES];

    // Each group of buffers is allocated whole before any is replaced: an OutOfMemoryError
    // part-way would otherwise leave the first grown and the rest small, and since the first's
    // length stands for the group, every later call would index past the others.

    void ensureLanes(int rowPad, int headDim) {
      if (qT.length < rowPad * headDim) {
        qT = new float[rowPad * headDim];
      }
      if (low.length < rowPad) {
        float[] newLow = new float[rowPad];
        float[] newHigh = new float[rowPad];
        float[] newPosRel = new float[rowPad];
        float[] newCorrection = new float[rowPad];
        low = newLow;
        high = newHigh;
        posRel = newPosRel;
        correction = newCorrection;
      }
    }

    void ensure(int rows, int queries, int headDim, int tile) {
      int rowFloats = Math.max(rows * headDim, headDim);
      if (q.length < rowFloats) {
        float[] newQ = new float[rowFloats];
        float[] newAcc = new float[rowFloats];
        MemorySegment newQSeg = MemorySegment.ofArray(newQ);
        MemorySegment newAccSeg = MemorySegment.ofArray(newAcc);
        q = newQ;
        acc = newAcc;
        qSeg = newQSeg;
        accSeg = newAccSeg;
      }
      if (scores.length < rows * tile) {
        float[] newScores = new float[rows * tile];
        float[] newMax = new float[rows];
        float[] newSum = new float[rows];
        float[] newSlope = new float[rows];
        scores = newScores;
        max = newMax;
        sum = newSum;
        slope = newSlope;
      }
      if (position.length < queries) {
        int[] newPosition = new int[queries];
        int[] newFrom = new int[queries];
        int[] newTo = new int[queries];
        position = newPosition;
        from = newFrom;
        to = newTo;
      }
    }
  }
}
