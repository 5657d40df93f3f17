package io.mqa4j.core;

import io.mqa4j.core.spi.AbstractAttentionKernel;
import io.mqa4j.core.spi.ScalarOps;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The reference kernel: one query row at a time, one key at a time, with an online softmax (a
 * running maximum and sum) so each row needs one pass over its keys and no scratch memory. It
 * defines what every other kernel must compute.
 */
final class ScalarAttentionKernel extends AbstractAttentionKernel {

  static final ScalarAttentionKernel INSTANCE = new ScalarAttentionKernel();

  private ScalarAttentionKernel() {}

  @Override
  public String name() {
    return "scalar";
  }

  @Override
  public String description() {
    return "scalar reference kernel (1 thread)";
  }

  @Override
  protected boolean readsArgumentStarts() {
    return true;
  }

  @Override
  protected void attend(AttentionShape shape, AttentionOptions options, int numQueries,
      MemorySegment q, long qOffset, KvView kv, MemorySegment out, long outOffset) {
    int heads = shape.queryHeads();
    int headDim = shape.headDim();
    int numKeys = kv.length();
    long rowBytes = (long) headDim * Float.BYTES;
    for (int i = 0; i < numQueries; i++) {
      int position = numKeys - numQueries + i;
      int from = options.firstVisibleKey(position);
      int to = options.endVisibleKey(position, numKeys);
      for (int h = 0; h < heads; h++) {
        long row = ((long) i * heads + h) * rowBytes;
        attendRow(shape, options, h, position, from, to, q, qOffset + row, kv, out, outOffset + row);
      }
    }
  }

  /**
   * Softmax-weighted sum of values of keys {@code [from, to)} for one query head of one query.
   * f32 caches and the narrower types run in separate loops: sharing one loop let the JIT's
   * profile of the typed reads slow the f32 path several times over.
   */
  private static void attendRow(AttentionShape shape, AttentionOptions options, int head,
      int position, int from, int to, MemorySegment q, long qRow, KvView kv,
      MemorySegment out, long outRow) {
    ScalarOps.zero(out, outRow, 0, shape.headDim());
    if (kv.type() == KvType.F32) {
      attendRowF32(shape, options, head, position, from, to, q, qRow, kv, out, outRow);
    } else {
      attendRowTyped(shape, options, head, position, from, to, q, qRow, kv, out, outRow);
    }
  }

  private static void attendRowF32(AttentionShape shape, AttentionOptions options, int head,
      int position, int from, int to, MemorySegment q, long qRow, KvView kv,
      MemorySegment out, long outRow) {
    int headDim = shape.headDim();
    float scale = options.scaleFor(headDim);
    float slope = options.alibiSlope(head, shape.queryHeads());
    int blockTokens = kv.blockTokens();
    long tokenBytes = kv.tokenBytes();
    long headOffset = shape.kvHeadOf(head) * KvType.F32.headBytes(headDim);
    long keyStart = keyStart(kv);
    long valueStart = valueStart(kv);
    float max = Float.NEGATIVE_INFINITY;
    float sum = 0f;
    for (int j = from; j < to; j++) {
      int block = j / blockTokens;
      long at = (j % blockTokens) * tokenBytes + headOffset;
      float s = scale * ScalarOps.dot(q, qRow, kv.keyBlock(block), keyStart + at, 0, headDim);
      // A logit past the float range (scale * q.k overflowing) is held at the largest float:
      // such keys then share all the weight, the softmax's limit, where +inf would make NaN.
      s = Math.min(options.shapeLogit(s, slope, j, position), Float.MAX_VALUE);
      if (s == Float.NEGATIVE_INFINITY) {
        continue; // weight exactly 0; also keeps exp(-inf - -inf) from making NaN
      }
      if (s > max) { // online softmax: rescale what is summed so far to the new maximum
        float correction = (float) Math.exp(max - s);
        sum *= correction;
        ScalarOps.scale(correction, out, outRow, 0, headDim);
        max = s;
      }
      float w = (float) Math.exp(s - max);
      sum += w;
      ScalarOps.axpy(w, kv.valueBlock(block), valueStart + at, out, outRow, 0,
          headDim);
    }
    finish(out, outRow, headDim, max, sum, options.sink(head));
  }

  /** As {@link #attendRowF32}, reading f16, bf16 or q8_0 elements through {@link KvType#element}. */
  private static void attendRowTyped(AttentionShape shape, AttentionOptions options, int head,
      int position, int from, int to, MemorySegment q, long qRow, KvView kv,
      MemorySegment out, long outRow) {
    int headDim = shape.headDim();
    float scale = options.scaleFor(headDim);
    float slope = options.alibiSlope(head, shape.queryHeads());
    int blockTokens = kv.blockTokens();
    long tokenBytes = kv.tokenBytes();
    KvType type = kv.type();
    long headOffset = shape.kvHeadOf(head) * type.headBytes(headDim);
    long keyStart = keyStart(kv);
    long valueStart = valueStart(kv);
    float max = Float.NEGATIVE_INFINITY;
    float sum = 0f;
    for (int j = from; j < to; j++) {
      int block = j / blockTokens;
      long at = (j % blockTokens) * tokenBytes + headOffset;
      float s = scale * typedDot(q, qRow, type, kv.keyBlock(block), keyStart + at, headDim);
      s = Math.min(options.shapeLogit(s, slope, j, position), Float.MAX_VALUE);
      if (s == Float.NEGATIVE_INFINITY) {
        continue;
      }
      if (s > max) {
        float correction = (float) Math.exp(max - s);
        sum *= correction;
        ScalarOps.scale(correction, out, outRow, 0, headDim);
        max = s;
      }
      float w = (float) Math.exp(s - max);
      sum += w;
      typedAxpy(w, type, kv.valueBlock(block), valueStart + at, out, outRow, headDim);
    }
    finish(out, outRow, headDim, max, sum, options.sink(head));
  }

  /** {@code q . k} with {@code k} one head of {@code type} at byte {@code at} of {@code keys}. */
  private static float typedDot(MemorySegment q, long qRow, KvType type, MemorySegment keys, long at,
      int headDim) {
    float sum = 0f;
    for (int i = 0; i < headDim; i++) {
      sum += q.get(ValueLayout.JAVA_FLOAT_UNALIGNED, qRow + (long) i * Float.BYTES)
          * type.elementAt(keys, at, i);
    }
    return sum;
  }

  /** {@code out += w * v} with {@code v} one head of {@code type} at byte {@code at} of {@code values}. */
  private static void typedAxpy(float w, KvType type, MemorySegment values, long at,
      MemorySegment out, long outRow, int headDim) {
    for (int i = 0; i < headDim; i++) {
      long o = outRow + (long) i * Float.BYTES;
      out.set(ValueLayout.JAVA_FLOAT_UNALIGNED, o,
          out.get(ValueLayout.JAVA_FLOAT_UNALIGNED, o) + w * type.elementAt(values, at, i));
    }
  }

  /** Every element type is read straight from the blocks. */
  @Override
  protected boolean supports(KvView view) {
    return true;
  }

  /** Divides the accumulated row by the softmax denominator, with the sink joining it if present. */
  static void finish(MemorySegment out, long outRow, int headDim, float max, float sum, float sink) {
    if (sum == 0f) {
      return; // no key seen: the row stays zero
    }
    float top = Math.max(max, sink);
    float keep = (float) Math.exp(max - top);
    float denominator = sum * keep + (float) Math.exp(sink - top);
    ScalarOps.scale(keep / denominator, out, outRow, 0, headDim);
  }
}
