package io.mqa4j.core.spi;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.ContiguousKvCache;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvType;
import io.mqa4j.core.KvView;
import java.lang.foreign.MemorySegment;
import io.mqa4j.core.jfr.DecodeBatchEvent;
import io.mqa4j.core.jfr.DecodeEvent;
import io.mqa4j.core.jfr.KernelCallEvent;
import io.mqa4j.core.jfr.PrefillEvent;
import java.util.Objects;
import jdk.jfr.EventType;

/**
 * Checks every argument of the public {@link AttentionKernel} methods once, then hands one
 * trusted call to {@link #attend}. Kernel implementations extend this and implement only that.
 */
public abstract class AbstractAttentionKernel implements AttentionKernel {

  private static final EventType DECODE_EVENTS = EventType.getEventType(DecodeEvent.class);
  private static final EventType PREFILL_EVENTS = EventType.getEventType(PrefillEvent.class);
  private static final EventType BATCH_EVENTS = EventType.getEventType(DecodeBatchEvent.class);

  /**
   * Attention of {@code numQueries} queries at byte offset {@code qOffset} of {@code q} over the
   * sequence in {@code kv}, writing outputs at byte offset {@code outOffset} of {@code out}.
   * Arguments are already checked; {@code numQueries >= 1}. {@code kv} may be a view that is
   * reused for the caller's next call, so it must not be kept past this one.
   */
  protected abstract void attend(AttentionShape shape, AttentionOptions options, int numQueries,
      MemorySegment q, long qOffset, KvView kv, MemorySegment out, long outOffset);

  @Override
  public final void prefill(AttentionShape shape, AttentionOptions options, int numQueries,
      int numKeys, float[] q, int qOffset, float[] k, int kOffset, float[] v, int vOffset,
      float[] out, int outOffset) {
    checkCommon(shape, options, numQueries);
    checkKeys(numKeys);
    long qFloats = (long) numQueries * shape.queryStride();
    long kvFloats = (long) numKeys * shape.kvStride();
    Checks.range("q", Objects.requireNonNull(q, "q").length, qOffset, "numQueries", numQueries,
        shape.queryStride());
    Checks.range("k", Objects.requireNonNull(k, "k").length, kOffset, "numKeys", numKeys,
        shape.kvStride());
    Checks.range("v", Objects.requireNonNull(v, "v").length, vOffset, "numKeys", numKeys,
        shape.kvStride());
    Checks.range("out", Objects.requireNonNull(out, "out").length, outOffset, "numQueries",
        numQueries, shape.queryStride());
    checkApart("q", q, qOffset, qFloats, out, outOffset, qFloats);
    checkApart("k", k, kOffset, kvFloats, out, outOffset, qFloats);
    checkApart("v", v, vOffset, kvFloats, out, outOffset, qFloats);
    CallArguments arguments = CALL_ARGUMENTS.get();
    ArraySegments segments = arguments.segments;
    callContiguous(arguments.view, shape, options, numQueries, numKeys, segments.of(q),
        (long) qOffset * Float.BYTES, segments.of(k), (long) kOffset * Float.BYTES,
        segments.of(v), (long) vOffset * Float.BYTES, segments.of(out),
        (long) outOffset * Float.BYTES);
  }

  @Override
  public final void prefill(AttentionShape shape, AttentionOptions options, int numQueries,
      int numKeys, MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out) {
    checkCommon(shape, options, numQueries);
    checkKeys(numKeys);
    long qBytes = floatBytes("numQueries", numQueries, shape.queryStride());
    long kvBytes = floatBytes("numKeys", numKeys, shape.kvStride());
    checkSegment("q", q, qBytes, "numQueries", numQueries, shape.queryStride());
    checkSegment("k", k, kvBytes, "numKeys", numKeys, shape.kvStride());
    checkSegment("v", v, kvBytes, "numKeys", numKeys, shape.kvStride());
    checkOut(out, qBytes, "numQueries", numQueries, shape.queryStride());
    checkApart("q", q, qBytes, out, qBytes);
    checkApart("k", k, kvBytes, out, qBytes);
    checkApart("v", v, kvBytes, out, qBytes);
    callContiguous(CALL_ARGUMENTS.get().view, shape, options, numQueries, numKeys, q, 0, k, 0, v,
        0, out, 0);
  }

  @Override
  public final void prefill(AttentionShape shape, AttentionOptions options, int numQueries,
      MemorySegment q, KvView kv, MemorySegment out) {
    checkCommon(shape, options, numQueries);
    checkView(shape, kv);
    checkHeld(options, numQueries, kv, -1);
    long qBytes = floatBytes("numQueries", numQueries, shape.queryStride());
    checkSegment("q", q, qBytes, "numQueries", numQueries, shape.queryStride());
    checkOut(out, qBytes, "numQueries", numQueries, shape.queryStride());
    checkApart("q", q, qBytes, out, qBytes);
    checkViewMemory(kv, -1, out, 0, qBytes);
    call(shape, options, numQueries, q, 0, kv, out, 0);
  }

  @Override
  public final void decode(AttentionShape shape, AttentionOptions options, int numKeys,
      float[] q, int qOffset, float[] k, int kOffset, float[] v, int vOffset,
      float[] out, int outOffset) {
    prefill(shape, options, 1, numKeys, q, qOffset, k, kOffset, v, vOffset, out, outOffset);
  }

  @Override
  public final void decode(AttentionShape shape, AttentionOptions options, int numKeys,
      MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out) {
    prefill(shape, options, 1, numKeys, q, k, v, out);
  }

  @Override
  public final void decode(AttentionShape shape, AttentionOptions options, float[] q, int qOffset,
      KvView kv, float[] out, int outOffset) {
    prefill(shape, options, 1, q, qOffset, kv, out, outOffset);
  }

  @Override
  public final void prefill(AttentionShape shape, AttentionOptions options, int numQueries,
      float[] q, int qOffset, KvView kv, float[] out, int outOffset) {
    checkCommon(shape, options, numQueries);
    checkView(shape, kv);
    checkHeld(options, numQueries, kv, -1);
    long floats = (long) numQueries * shape.queryStride();
    Checks.range("q", Objects.requireNonNull(q, "q").length, qOffset, "numQueries", numQueries,
        shape.queryStride());
    Checks.range("out", Objects.requireNonNull(out, "out").length, outOffset, "numQueries",
        numQueries, shape.queryStride());
    checkApart("q", q, qOffset, floats, out, outOffset, floats);
    ArraySegments segments = CALL_ARGUMENTS.get().segments;
    MemorySegment outSegment = segments.of(out);
    checkViewMemory(kv, -1, outSegment, (long) outOffset * Float.BYTES, floats * Float.BYTES);
    call(shape, options, numQueries, segments.of(q), (long) qOffset * Float.BYTES, kv,
        outSegment, (long) outOffset * Float.BYTES);
  }

  @Override
  public final void decode(AttentionShape shape, AttentionOptions options, MemorySegment q,
      KvView kv, MemorySegment out) {
    prefill(shape, options, 1, q, kv, out);
  }

  @Override
  public final void decodeBatch(AttentionShape shape, AttentionOptions options, MemorySegment q,
      KvView[] sequences, MemorySegment out) {
    checkBatch(shape, options, sequences);
    long bytes = floatBytes("sequences.length", sequences.length, shape.queryStride());
    checkSegment("q", q, bytes, "sequences.length", sequences.length, shape.queryStride());
    checkOut(out, bytes, "sequences.length", sequences.length, shape.queryStride());
    checkApart("q", q, bytes, out, bytes);
    for (int i = 0; i < sequences.length; i++) {
      checkViewMemory(sequences[i], i, out, 0, bytes);
    }
    runBatch(shape, options, q, 0, sequences, out, 0);
  }

  @Override
  public final void decodeBatch(AttentionShape shape, AttentionOptions options, float[] q,
      int qOffset, KvView[] sequences, float[] out, int outOffset) {
    checkBatch(shape, options, sequences);
    long floats = (long) sequences.length * shape.queryStride();
    Checks.range("q", Objects.requireNonNull(q, "q").length, qOffset, "sequences.length",
        sequences.length, shape.queryStride());
    Checks.range("out", Objects.requireNonNull(out, "out").length, outOffset, "sequences.length",
        sequences.length, shape.queryStride());
    checkApart("q", q, qOffset, floats, out, outOffset, floats);
    ArraySegments segments = CALL_ARGUMENTS.get().segments;
    MemorySegment outSegment = segments.of(out);
    long outStart = (long) outOffset * Float.BYTES;
    for (int i = 0; i < sequences.length; i++) {
      checkViewMemory(sequences[i], i, outSegment, outStart, floats * Float.BYTES);
    }
    runBatch(shape, options, segments.of(q), (long) qOffset * Float.BYTES, sequences, outSegment,
        outStart);
  }

  private void checkBatch(AttentionShape shape, AttentionOptions options, KvView[] sequences) {
    checkCommon(shape, options, 1);
    Objects.requireNonNull(sequences, "sequences");
    if (sequences.length == 0) {
      throw new IllegalArgumentException("sequences must not be empty");
    }
    for (int i = 0; i < sequences.length; i++) {
      checkView(shape, sequences[i], i);
      checkHeld(options, 1, sequences[i], i);
    }
  }

  /** A checked batch, with its JFR event when one is enabled. */
  private void runBatch(AttentionShape shape, AttentionOptions options, MemorySegment q,
      long qOffset, KvView[] sequences, MemorySegment out, long outOffset) {
    if (!BATCH_EVENTS.isEnabled()) {
      attendBatchOrRecover(shape, options, q, qOffset, sequences, out, outOffset);
      return;
    }
    DecodeBatchEvent event = new DecodeBatchEvent();
    event.begin();
    attendBatchOrRecover(shape, options, q, qOffset, sequences, out, outOffset);
    event.end();
    if (event.shouldCommit()) {
      long keys = 0;
      long read = 0;
      KvType first = sequences[0].type();
      String kernel = null;
      String otherKernel = null;
      boolean mixed = false;
      for (KvView kv : sequences) {
        keys += kv.length() - kv.firstKey();
        read += 2 * options.visibleKeys(1, kv.length()) * kv.tokenBytes();
        mixed |= kv.type() != first;
        String by = runBy(shape, kv);
        if (kernel == null) {
          kernel = by;
        } else if (!by.equals(kernel)) {
          otherKernel = by;
        }
      }
      // A batch may mix caches of several types; naming the first would misreport the rest.
      describe(event, otherKernel == null ? kernel : kernel + "+" + otherKernel, shape,
          sequences.length, keys, mixed ? "mixed" : first.label(), read);
      event.commit();
    }
  }

  /**
   * Runs {@link #attend} over K and V the caller passed directly, checked already, through
   * {@code view}, this thread's reused one: decode runs once per token and layer, and must
   * allocate nothing.
   */
  private void callContiguous(ArgumentKv view, AttentionShape shape, AttentionOptions options,
      int numQueries, int numKeys, MemorySegment q, long qOffset, MemorySegment keys,
      long keyStart, MemorySegment values, long valueStart, MemorySegment out, long outOffset) {
    if (view.inUse) { // a kernel that calls another from inside its call: a view of its own
      call(shape, options, numQueries, q, qOffset, new ArgumentKv().fill(shape.kvHeads(),
          shape.headDim(), numKeys, keys, keyStart, values, valueStart), out, outOffset);
      return;
    }
    try {
      call(shape, options, numQueries, q, qOffset, view.fill(shape.kvHeads(), shape.headDim(),
          numKeys, keys, keyStart, values, valueStart), out, outOffset);
    } finally {
      view.empty();
    }
  }

  /** Runs {@link #attend}, inside a JFR event when one is being recorded. */
  private void call(AttentionShape shape, AttentionOptions options, int numQueries,
      MemorySegment q, long qOffset, KvView kv, MemorySegment out, long outOffset) {
    if (kv instanceof ArgumentKv arguments && !readsArgumentStarts()
        && (arguments.keyStart() != 0 || arguments.valueStart() != 0)) {
      kv = arguments.sliced(); // KvView's own layout, for a kernel that does not add the starts
    }
    EventType type = numQueries == 1 ? DECODE_EVENTS : PREFILL_EVENTS;
    if (!type.isEnabled()) { // the common case costs one check and allocates nothing
      attendOrRecover(shape, options, numQueries, q, qOffset, kv, out, outOffset);
      return;
    }
    KernelCallEvent event = numQueries == 1 ? new DecodeEvent() : new PrefillEvent();
    event.begin();
    attendOrRecover(shape, options, numQueries, q, qOffset, kv, out, outOffset);
    event.end();
    if (event.shouldCommit()) {
      long visible = options.visibleKeys(numQueries, kv.length());
      describe(event, runBy(shape, kv), shape, numQueries, kv.length() - kv.firstKey(),
          kv.type().label(), 2 * visible * kv.tokenBytes());
      event.commit();
    }
  }

  /**
   * {@link #attend}, and {@link #afterStackOverflow} when a stack overflow ends it: this frame is
   * shallower than any inside the kernel, so the clean-up has stack to run where the kernel's own
   * {@code finally} blocks, at the overflow's depth, may not. Only the outermost call on a thread
   * cleans up: a call made from inside another (refused) must not end the call it is inside.
   */
  private void attendOrRecover(AttentionShape shape, AttentionOptions options, int numQueries,
      MemorySegment q, long qOffset, KvView kv, MemorySegment out, long outOffset) {
    boolean nested = inCall();
    try {
      attend(shape, options, numQueries, q, qOffset, kv, out, outOffset);
    } catch (StackOverflowError e) {
      if (!nested) {
        afterStackOverflow();
      }
      throw e;
    }
  }

  /** {@link #attendBatch} as {@link #attendOrRecover} runs {@link #attend}. */
  private void attendBatchOrRecover(AttentionShape shape, AttentionOptions options,
      MemorySegment q, long qOffset, KvView[] sequences, MemorySegment out, long outOffset) {
    boolean nested = inCall();
    try {
      attendBatch(shape, options, q, qOffset, sequences, out, outOffset);
    } catch (StackOverflowError e) {
      if (!nested) {
        afterStackOverflow();
      }
      throw e;
    }
  }

  /**
   * Whether this thread is inside a call of this kernel already (a {@link KvView} calling it
   * back), which {@link #afterStackOverflow} must then leave alone. This default: never.
   */
  protected boolean inCall() {
    return false;
  }

  /**
   * Puts right what a call cut short by a stack overflow may have left: a kernel that holds a
   * lock or runs threads during a call releases and waits for them here. Runs on the caller's
   * thread after the call's own frames have gone, for the outermost call only. This default has
   * nothing to do.
   */
  protected void afterStackOverflow() {}

  /**
   * The name of the kernel that runs a call over {@code kv}: this one's, unless it hands such
   * calls to another ({@link #attendWith}), whose name JFR events then give.
   */
  protected String runBy(AttentionShape shape, KvView kv) {
    return name();
  }

  private static void describe(KernelCallEvent event, String kernel, AttentionShape shape,
      int queries, long keys, String kvType, long bytes) {
    event.kernel = kernel;
    event.layout = shape.layout().name();
    event.queryHeads = shape.queryHeads();
    event.kvHeads = shape.kvHeads();
    event.headDim = shape.headDim();
    event.queries = queries;
    event.keys = keys;
    event.kvType = kvType;
    event.kvBytesRead = bytes;
  }

  /**
   * One decode step for each sequence, query and output {@code i} at row {@code i} from byte
   * offsets {@code qOffset} and {@code outOffset}. Arguments are already checked. This default
   * runs the sequences one after another through {@link #attend}.
   */
  protected void attendBatch(AttentionShape shape, AttentionOptions options, MemorySegment q,
      long qOffset, KvView[] sequences, MemorySegment out, long outOffset) {
    long rowBytes = (long) shape.queryStride() * Float.BYTES;
    for (int i = 0; i < sequences.length; i++) {
      attend(shape, options, 1, q, qOffset + i * rowBytes, sequences[i], out,
          outOffset + i * rowBytes);
    }
  }

  /**
   * Runs {@code other}'s {@link #attend} on arguments this kernel has already checked, inside
   * this call's event: for a kernel that hands a call it cannot run well to another.
   */
  protected static void attendWith(AbstractAttentionKernel other, AttentionShape shape,
      AttentionOptions options, int numQueries, MemorySegment q, long qOffset, KvView kv,
      MemorySegment out, long outOffset) {
    other.attend(shape, options, numQueries, q, qOffset, kv, out, outOffset);
  }

  /**
   * Whether this kernel adds {@link #keyStart} and {@link #valueStart} to every offset into a
   * view's blocks. Only then is it given the K and V a caller passed directly as their whole
   * arrays, which saves a segment per call when the caller's offset moves; otherwise (the
   * default) it gets views laid out as {@link KvView} says, sliced at the caller's offsets.
   */
  protected boolean readsArgumentStarts() {
    return false;
  }

  /**
   * Where the keys of {@code kv} start in each of its key blocks, in bytes: 0 but for the view of
   * the K and V a caller passed directly, whose one block is the caller's whole array or segment
   * (see {@link ArgumentKv}), and only for a kernel whose {@link #readsArgumentStarts} is true.
   */
  protected static long keyStart(KvView kv) {
    return kv instanceof ArgumentKv arguments ? arguments.keyStart() : 0;
  }

  /** As {@link #keyStart}, for {@code kv.valueBlock(b)}. */
  protected static long valueStart(KvView kv) {
    return kv instanceof ArgumentKv arguments ? arguments.valueStart() : 0;
  }

  /** Whether this kernel reads caches of {@code view}'s element type; all read f32. */
  protected boolean supports(KvView view) {
    return view.type() == KvType.F32;
  }

  @Override
  public String toString() {
    return description();
  }

  private static final ThreadLocal<CallArguments> CALL_ARGUMENTS =
      ThreadLocal.withInitial(CallArguments::new);

  /**
   * Drops the calling thread's reusable call state (its table of segments over the arrays it
   * passed); the thread's next call makes it again.
   */
  public static void forgetThisThread() {
    CALL_ARGUMENTS.remove();
  }

  /** What a thread reuses to pass its arrays and segments to the kernels without allocating. */
  private static final class CallArguments {
    final ArraySegments segments = new ArraySegments();
    final ArgumentKv view = new ArgumentKv();
  }

  private static void checkCommon(AttentionShape shape, AttentionOptions options, int numQueries) {
    Objects.requireNonNull(shape, "shape");
    Objects.requireNonNull(options, "options");
    options.checkAgainst(shape);
    if (numQueries < 1) {
      throw new IllegalArgumentException("numQueries must be >= 1, got " + numQueries);
    }
  }

  /**
   * Bytes of {@code count} rows of {@code stride} floats; a count whose bytes pass a long (an int
   * count of rows of up to 2^31 floats can) is refused rather than wrapped past the size checks.
   */
  private static long floatBytes(String name, int count, int stride) {
    try {
      return Math.multiplyExact((long) count * stride, (long) Float.BYTES);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(name + "=" + count + " rows of " + stride
          + " floats are more bytes than a long holds");
    }
  }

  private static void checkKeys(int numKeys) {
    if (numKeys < 0) {
      throw new IllegalArgumentException("numKeys must be >= 0, got " + numKeys);
    }
  }

  private void checkView(AttentionShape shape, KvView kv) {
    checkView(shape, kv, -1);
  }

  /** Checks {@code kv}: {@code sequences[index]} of a batch, or the {@code kv} argument for -1. */
  private void checkView(AttentionShape shape, KvView kv, int index) {
    if (kv == null) {
      throw new NullPointerException(viewName(index));
    }
    if (kv instanceof KvSequence seq && seq.isFreed()) { // it would read as empty
      String why;
      try {
        seq.blockCount(); // a dead sequence throws the cache's own account of why it is dead
        why = "sequence " + seq.id() + " has been freed";
      } catch (IllegalStateException e) {
        why = e.getMessage();
      }
      throw new IllegalStateException(viewName(index) + ": " + why);
    }
    if (kv instanceof ContiguousKvCache cache && cache.isClosed()) { // it would read as empty
      throw new IllegalStateException(viewName(index) + ": the KV cache is closed");
    }
    if (kv.length() < 0) {
      throw new IllegalArgumentException(viewName(index) + ".length() must be >= 0, got "
          + kv.length());
    }
    if (kv.kvHeads() != shape.kvHeads() || kv.headDim() != shape.headDim()) {
      throw new IllegalArgumentException(viewName(index) + " holds kvHeads=" + kv.kvHeads()
          + ", headDim=" + kv.headDim() + " but the shape is " + shape);
    }
    if (kv.type() == null) {
      throw new NullPointerException(viewName(index) + ".type()");
    }
    if (!kv.type().supportsHeadDim(kv.headDim())) { // a caller's own view; caches refuse it
      throw new IllegalArgumentException(viewName(index) + " is of KV type " + kv.type().label()
          + ", which needs a head dim that is a multiple of " + KvType.Q8_0_BLOCK
          + ", but holds headDim=" + kv.headDim());
    }
    if (kv.blockTokens() < 1) {
      throw new IllegalArgumentException(viewName(index) + ".blockTokens() must be >= 1, got "
          + kv.blockTokens());
    }
    // The kernels step through blocks by tokenBytes(); a view of the caller's own may override it.
    long tokenBytes = kv.type().headBytes(kv.headDim()) * kv.kvHeads();
    if (kv.tokenBytes() != tokenBytes) {
      throw new IllegalArgumentException(viewName(index) + ".tokenBytes() must be " + tokenBytes
          + " (kvHeads=" + kv.kvHeads() + " heads of " + kv.type().headBytes(kv.headDim())
          + " bytes), got " + kv.tokenBytes());
    }
    if (!supports(kv)) {
      throw new IllegalArgumentException(viewName(index) + ": the " + name()
          + " kernel cannot read KV type " + kv.type());
    }
    if (kv instanceof KvView.ContiguousKv c) {
      checkUsable(c.keys(), index, ".keys()", -1);
      checkUsable(c.values(), index, ".values()", -1);
    }
  }

  /**
   * Refuses a call in which a query could see a token {@code kv} no longer holds (blocks before
   * its {@link KvView#firstKey()} released): the kernels would find no block to read. Queries sit
   * at the sequence's last {@code numQueries} positions, and the earliest sees the earliest keys.
   */
  private static void checkHeld(AttentionOptions options, int numQueries, KvView kv, int index) {
    int firstKey = kv.firstKey();
    if (firstKey == 0) {
      return;
    }
    if (firstKey < 0 || firstKey > kv.length()) {
      throw new IllegalArgumentException(viewName(index) + ".firstKey() must be in [0, "
          + kv.length() + "] (its length), got " + firstKey);
    }
    int position = Math.max(0, kv.length() - numQueries);
    int seen = options.firstVisibleKey(position);
    if (seen < firstKey) {
      throw new IllegalArgumentException(viewName(index) + " holds tokens from " + firstKey
          + " on (earlier blocks were released), but the query at position " + position
          + " sees keys from " + seen + (options.slidingWindow() > 0
              ? " (slidingWindow=" + options.slidingWindow() + ")" : " (no sliding window)"));
    }
  }

  /** Blocks that hold {@code kv}'s tokens, the last perhaps partly filled. */
  protected static int blockCount(KvView kv) {
    return (int) ((kv.length() + (long) kv.blockTokens() - 1) / kv.blockTokens());
  }

  /** Bytes of block {@code b}'s tokens: a whole block but for the last, partly filled one. */
  private static long blockBytes(KvView kv, int b) {
    return Math.min(kv.blockTokens(), kv.length() - (long) b * kv.blockTokens()) * kv.tokenBytes();
  }

  private static void checkBlock(MemorySegment block, long need, int index, String part, int b) {
    if (block == null) {
      throw new NullPointerException(partName(index, part, b));
    }
    checkUsable(block, index, part, b);
    if (block.byteSize() < need) {
      throw new IllegalArgumentException(partName(index, part, b) + " holds " + block.byteSize()
          + " bytes but its tokens need " + need);
    }
  }

  /** {@code kv.keys()}, {@code sequences[2].keyBlock(5)}: built only when a check fails. */
  private static String partName(int index, String part, int block) {
    return viewName(index) + part + (block < 0 ? "" : block + ")");
  }

  private static void checkUsable(MemorySegment segment, int index, String part, int block) {
    if (!segment.scope().isAlive() || !segment.isAccessibleBy(Thread.currentThread())) {
      Checks.usable(partName(index, part, block), segment);
    }
  }

  /**
   * Refuses an output range that overlaps an input range of the same array: the kernels write
   * outputs while they still read inputs, so an overlap would silently change the result.
   */
  private static void checkApart(String input, float[] in, int inOffset, long inFloats,
      float[] out, int outOffset, long outFloats) {
    if (in == out && inOffset < outOffset + outFloats && outOffset < inOffset + inFloats) {
      throw new IllegalArgumentException("out [" + outOffset + ", " + (outOffset + outFloats)
          + ") overlaps " + input + " [" + inOffset + ", " + (inOffset + inFloats)
          + ") of the same array");
    }
  }

  /** As {@link #checkApart(String, float[], int, long, float[], int, long)} for segments. */
  private static void checkApart(String input, MemorySegment in, long inBytes, MemorySegment out,
      long outBytes) {
    if (overlap(in, inBytes, out, 0, outBytes)) {
      throw overlapError(input, in, inBytes, out, 0, outBytes);
    }
  }

  private static boolean overlap(MemorySegment in, long inBytes, MemorySegment out,
      long outOffset, long outBytes) {
    if (in.isNative() != out.isNative()) {
      return false; // different memory altogether
    }
    if (!in.isNative()) {
      Object a = in.heapBase().orElse(null);
      Object b = out.heapBase().orElse(null);
      if (a != null && b != null) {
        if (a != b) {
          return false; // different arrays
        }
      } else if (in.asOverlappingSlice(out).isEmpty()) {
        // A read-only segment hides its array from heapBase(); the segments still know it.
        return false;
      }
    }
    // Same memory: a native address, or a heap segment's offset into the array both share.
    long a = in.address();
    long b = out.address() + outOffset;
    return a < b + outBytes && b < a + inBytes;
  }

  private static IllegalArgumentException overlapError(String input, MemorySegment in,
      long inBytes, MemorySegment out, long outOffset, long outBytes) {
    return new IllegalArgumentException("out overlaps " + input + " in memory (out at "
        + (out.address() + outOffset) + ", " + outBytes + " bytes; " + input + " at "
        + in.address() + ", " + inBytes + " bytes)");
  }

  /**
   * Refuses an output over the K and V a view holds, where the view's memory is the caller's:
   * contiguous views and caches, and every block of a view of the caller's own. A paged
   * sequence's blocks belong to its cache, which lends them read-only, so {@code out} (writable)
   * cannot lie over them. A view this library did not build is checked here block by block, in
   * the same pass: every block it names must exist, be open and hold its rows, or the kernels
   * would fail somewhere inside their loops, part of the output written.
   */
  private static void checkViewMemory(KvView kv, int index, MemorySegment out, long outOffset,
      long outBytes) {
    if (kv instanceof KvSequence || kv.length() == 0) {
      return;
    }
    if (kv instanceof KvView.ContiguousKv || kv instanceof ContiguousKvCache) {
      long bytes = (long) kv.length() * kv.tokenBytes();
      checkApart(kv.keyBlock(0), bytes, out, outOffset, outBytes, index, ".keys()", -1);
      checkApart(kv.valueBlock(0), bytes, out, outOffset, outBytes, index, ".values()", -1);
      return;
    }
    if (kv instanceof ArgumentKv arguments) { // a kernel passing on the view it was given
      checkViewMemory(arguments.sliced(), index, out, outOffset, outBytes);
      return;
    }
    int blocks = blockCount(kv);
    for (int b = kv.firstKey() / kv.blockTokens(); b < blocks; b++) { // released ones need not exist
      long need = blockBytes(kv, b);
      MemorySegment keys = kv.keyBlock(b);
      MemorySegment values = kv.valueBlock(b);
      checkBlock(keys, need, index, ".keyBlock(", b);
      checkBlock(values, need, index, ".valueBlock(", b);
      checkApart(keys, need, out, outOffset, outBytes, index, ".keyBlock(", b);
      checkApart(values, need, out, outOffset, outBytes, index, ".valueBlock(", b);
    }
  }

  private static void checkApart(MemorySegment in, long inBytes, MemorySegment out,
      long outOffset, long outBytes, int index, String part, int block) {
    if (overlap(in, inBytes, out, outOffset, outBytes)) {
      throw overlapError(partName(index, part, block), in, inBytes, out, outOffset, outBytes);
    }
  }

  /** The name of a checked view in messages; built only on failure, so a batch allocates nothing. */
  private static String viewName(int index) {
    return index < 0 ? "kv" : "sequences[" + index + "]";
  }

  /** As {@link #checkSegment} for {@code out}, which must also be writable. */
  private static void checkOut(MemorySegment out, long bytes, String rowsName, long rows,
      long rowFloats) {
    checkSegment("out", out, bytes, rowsName, rows, rowFloats);
    if (out.isReadOnly()) {
      throw new IllegalArgumentException("out must be writable, got a read-only segment");
    }
  }

  private static void checkSegment(String name, MemorySegment segment, long bytes,
      String rowsName, long rows, long rowFloats) {
    Objects.requireNonNull(segment, name);
    Checks.usable(name, segment);
    if (segment.byteSize() < bytes) {
      throw new IllegalArgumentException(name + " holds " + segment.byteSize() + " bytes but needs "
          + bytes + " (" + rowsName + " " + rows + " of " + rowFloats + " floats each)");
    }
  }
}
