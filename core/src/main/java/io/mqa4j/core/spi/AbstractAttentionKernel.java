package io.mqa4j.core.spi;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvView;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Checks every argument of the public {@link AttentionKernel} methods once, then hands one
 * trusted call to {@link #attend}. Kernel implementations extend this and implement only that.
 */
public abstract class AbstractAttentionKernel implements AttentionKernel {

  /**
   * Attention of {@code numQueries} queries at byte offset {@code qOffset} of {@code q} over the
   * sequence in {@code kv}, writing outputs at byte offset {@code outOffset} of {@code out}.
   * Arguments are already checked; {@code numQueries >= 1}.
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
    Checks.range("q", Objects.requireNonNull(q, "q").length, qOffset, qFloats);
    Checks.range("k", Objects.requireNonNull(k, "k").length, kOffset, kvFloats);
    Checks.range("v", Objects.requireNonNull(v, "v").length, vOffset, kvFloats);
    Checks.range("out", Objects.requireNonNull(out, "out").length, outOffset, qFloats);
    KvView kv = contiguous(shape, numKeys, k, kOffset, v, vOffset);
    attend(shape, options, numQueries, MemorySegment.ofArray(q), (long) qOffset * Float.BYTES, kv,
        MemorySegment.ofArray(out), (long) outOffset * Float.BYTES);
  }

  @Override
  public final void prefill(AttentionShape shape, AttentionOptions options, int numQueries,
      int numKeys, MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out) {
    checkCommon(shape, options, numQueries);
    checkKeys(numKeys);
    long qBytes = (long) numQueries * shape.queryStride() * Float.BYTES;
    long kvBytes = (long) numKeys * shape.kvStride() * Float.BYTES;
    checkSegment("q", q, qBytes);
    checkSegment("k", k, kvBytes);
    checkSegment("v", v, kvBytes);
    checkSegment("out", out, qBytes);
    KvView kv = KvView.ofContiguous(shape.kvHeads(), shape.headDim(), numKeys, k, v);
    attend(shape, options, numQueries, q, 0, kv, out, 0);
  }

  @Override
  public final void prefill(AttentionShape shape, AttentionOptions options, int numQueries,
      MemorySegment q, KvView kv, MemorySegment out) {
    checkCommon(shape, options, numQueries);
    checkView(shape, kv);
    long qBytes = (long) numQueries * shape.queryStride() * Float.BYTES;
    checkSegment("q", q, qBytes);
    checkSegment("out", out, qBytes);
    attend(shape, options, numQueries, q, 0, kv, out, 0);
  }

  @Override
  public final void decode(AttentionShape shape, AttentionOptions options, int numKeys,
      float[] q, int qOffset, float[] k, int kOffset, float[] v, int vOffset,
      float[] out, int outOffset) {
    prefill(shape, options, 1, numKeys, q, qOffset, k, kOffset, v, vOffset, out, outOffset);
  }

  @Override
  public final void decode(AttentionShape shape, AttentionOptions options, float[] q, int qOffset,
      KvView kv, float[] out, int outOffset) {
    checkCommon(shape, options, 1);
    checkView(shape, kv);
    Checks.range("q", Objects.requireNonNull(q, "q").length, qOffset, shape.queryStride());
    Checks.range("out", Objects.requireNonNull(out, "out").length, outOffset, shape.queryStride());
    attend(shape, options, 1, MemorySegment.ofArray(q), (long) qOffset * Float.BYTES, kv,
        MemorySegment.ofArray(out), (long) outOffset * Float.BYTES);
  }

  @Override
  public final void decode(AttentionShape shape, AttentionOptions options, MemorySegment q,
      KvView kv, MemorySegment out) {
    prefill(shape, options, 1, q, kv, out);
  }

  @Override
  public final void decodeBatch(AttentionShape shape, AttentionOptions options, MemorySegment q,
      KvView[] sequences, MemorySegment out) {
    checkCommon(shape, options, 1);
    Objects.requireNonNull(sequences, "sequences");
    if (sequences.length == 0) {
      throw new IllegalArgumentException("sequences must not be empty");
    }
    for (int i = 0; i < sequences.length; i++) {
      if (sequences[i] == null) {
        throw new NullPointerException("sequences[" + i + "]");
      }
      checkView(shape, sequences[i]);
    }
    long bytes = (long) sequences.length * shape.queryStride() * Float.BYTES;
    checkSegment("q", q, bytes);
    checkSegment("out", out, bytes);
    attendBatch(shape, options, q, sequences, out);
  }

  /**
   * One decode step for each sequence, query and output {@code i} at row {@code i}. Arguments are
   * already checked. This default runs the sequences one after another through {@link #attend}.
   */
  protected void attendBatch(AttentionShape shape, AttentionOptions options, MemorySegment q,
      KvView[] sequences, MemorySegment out) {
    long rowBytes = (long) shape.queryStride() * Float.BYTES;
    for (int i = 0; i < sequences.length; i++) {
      attend(shape, options, 1, q, i * rowBytes, sequences[i], out, i * rowBytes);
    }
  }

  /** Whether this kernel reads caches of {@code view}'s element type; all read f32. */
  protected boolean supports(KvView view) {
    return view.type() == io.mqa4j.core.KvType.F32;
  }

  @Override
  public String toString() {
    return description();
  }

  private static KvView contiguous(AttentionShape shape, int numKeys, float[] k, int kOffset,
      float[] v, int vOffset) {
    long bytes = (long) numKeys * shape.kvStride() * Float.BYTES;
    return KvView.ofContiguous(shape.kvHeads(), shape.headDim(), numKeys,
        MemorySegment.ofArray(k).asSlice((long) kOffset * Float.BYTES, bytes),
        MemorySegment.ofArray(v).asSlice((long) vOffset * Float.BYTES, bytes));
  }

  private static void checkCommon(AttentionShape shape, AttentionOptions options, int numQueries) {
    Objects.requireNonNull(shape, "shape");
    Objects.requireNonNull(options, "options");
    options.checkAgainst(shape);
    if (numQueries < 1) {
      throw new IllegalArgumentException("numQueries must be >= 1, got " + numQueries);
    }
  }

  private static void checkKeys(int numKeys) {
    if (numKeys < 0) {
      throw new IllegalArgumentException("numKeys must be >= 0, got " + numKeys);
    }
  }

  private void checkView(AttentionShape shape, KvView kv) {
    Objects.requireNonNull(kv, "kv");
    if (kv.kvHeads() != shape.kvHeads() || kv.headDim() != shape.headDim()) {
      throw new IllegalArgumentException("kv holds kvHeads=" + kv.kvHeads() + ", headDim="
          + kv.headDim() + " but the shape is " + shape);
    }
    if (!supports(kv)) {
      throw new IllegalArgumentException(name() + " kernel cannot read KV type " + kv.type());
    }
  }

  private static void checkSegment(String name, MemorySegment segment, long bytes) {
    Objects.requireNonNull(segment, name);
    if (segment.byteSize() < bytes) {
      throw new IllegalArgumentException(name + " holds " + segment.byteSize() + " bytes but needs "
          + bytes);
    }
  }
}
