package io.mqa4j.simd;

import static io.mqa4j.simd.VectorConstants.BYTES_16;
import static io.mqa4j.simd.VectorConstants.INTS;
import static io.mqa4j.simd.VectorConstants.LANES;
import static io.mqa4j.simd.VectorConstants.ORDER;
import static io.mqa4j.simd.VectorConstants.SHORTS;
import static io.mqa4j.simd.VectorConstants.SPECIES;

import io.mqa4j.core.KvType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Widens a few cached rows of f16, bf16 or q8_0 keys or values into a small float buffer, so the
 * f32 loops of {@link AttentionBody} and {@link LaneRowsBody} run on them unchanged. The kernel
 * converts one tile (or, when a task streams every KV head, a few tokens) at a time: the buffer
 * stays in cache, and every query head of the group reuses each converted row. Used for f16
 * everywhere, and for bf16 and q8_0 where many rows share each key (lanes across rows), so that
 * the conversion is paid once for all of them; with few rows per key, {@link Bf16Body} and
 * {@link Q8Body} read those types in place. Each element equals {@link KvType#element}: the
 * conversions are exact.
 */
final class TypedRows {
  private TypedRows() {}

  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
  private static final ValueLayout.OfShort SHORT_LE =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

  /**
   * Converts tokens {@code [from, to)} of {@code heads} heads starting at {@code srcBase} (token
   * {@code j}, head {@code g} at {@code srcBase + j * tokenStride + g * headBytes}) into the
   * floats of {@code dst}, laid out {@code [to - from][heads][headDim]}. The kernel passes a
   * native segment: its loops then load only from native memory, as from f32 cache blocks.
   */
  static void convert(KvType type, MemorySegment src, long srcBase, long tokenStride, int from,
      int to, int heads, int headDim, MemorySegment dst) {
    long headBytes = type.headBytes(headDim);
    if (tokenStride == heads * headBytes) {
      // Rows back to back (one KV head, as in MQA): one long run. Converting row by row spends
      // more on each short loop's entry than on its eight or so vectors (measured: 0.17 against
      // 0.05 ns per element for bf16 rows of 128).
      run(type, src, srcBase + from * tokenStride, (to - from) * heads * headDim, dst, 0);
      return;
    }
    for (int j = from; j < to; j++) {
      long row = srcBase + j * tokenStride;
      for (int g = 0; g < heads; g++) {
        run(type, src, row + g * headBytes, headDim, dst, ((j - from) * heads + g) * headDim);
      }
    }
  }

  /** Converts {@code n} elements stored back to back from {@code o} (whole q8_0 blocks). */
  private static void run(KvType type, MemorySegment src, long o, int n, MemorySegment dst, int at) {
    switch (type) {
      case BF16 -> bf16(src, o, n, dst, at);
      case F16 -> f16(src, o, n, dst, at);
      case Q8_0 -> q8(src, o, n, dst, at);
      case F32 -> throw new IllegalArgumentException("f32 rows are read in place");
    }
  }

  /** bfloat16 is the top half of a float: widen each lane and shift it back into place. */
  private static void bf16(MemorySegment src, long o, int n, MemorySegment dst, int at) {
    int x = 0;
    for (int bound = SPECIES.loopBound(n); x < bound; x += LANES) {
      ShortVector h = ShortVector.fromMemorySegment(SHORTS, src, o + 2L * x, LE);
      ((IntVector) h.convertShape(VectorOperators.S2I, INTS, 0))
          .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
          .intoMemorySegment(dst, 4L * (at + x), ORDER);
    }
    for (; x < n; x++) { // scalar tail
      dst.set(F32, 4L * (at + x), KvType.bf16ToFloat(src.get(SHORT_LE, o + 2L * x)));
    }
  }

  /**
   * IEEE half to float with integer lanes: the exponent and mantissa bits moved into a float's
   * place and multiplied by 2^112 re-bias the exponent, which is exact for normal and subnormal
   * halves alike; infinities and NaNs (exponent all ones) get a float's all-ones exponent.
   */
  private static void f16(MemorySegment src, long o, int n, MemorySegment dst, int at) {
    int x = 0;
    for (int bound = SPECIES.loopBound(n); x < bound; x += LANES) {
      IntVector h = (IntVector) ShortVector.fromMemorySegment(SHORTS, src, o + 2L * x, LE)
          .convertShape(VectorOperators.S2I, INTS, 0);
      IntVector magnitude = h.and(0x7fff);
      IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
      IntVector bits = shifted.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
      VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, 0x7c00);
      bits = bits.blend(shifted.or(0x7f800000), special);
      // NaNs come back quiet, as Float.float16ToFloat returns them.
      bits = bits.blend(bits.or(0x00400000), magnitude.compare(VectorOperators.GT, 0x7c00));
      bits = bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16));
      bits.reinterpretAsFloats().intoMemorySegment(dst, 4L * (at + x), ORDER);
    }
    for (; x < n; x++) { // scalar tail
      dst.set(F32, 4L * (at + x), Float.float16ToFloat(src.get(SHORT_LE, o + 2L * x)));
    }
  }

  /** ggml q8_0: per 32 elements an f16 scale then 32 signed bytes; value = byte * scale. */
  private static void q8(MemorySegment src, long o, int n, MemorySegment dst, int at) {
    int parts = 16 / LANES; // float vectors per 16 bytes
    for (int b = 0; b < n / KvType.Q8_0_BLOCK; b++) {
      long block = o + (long) b * KvType.Q8_0_BLOCK_BYTES;
      float scale = Float.float16ToFloat(src.get(SHORT_LE, block));
      int out = at + b * KvType.Q8_0_BLOCK;
      for (int half = 0; half < 2; half++) {
        ByteVector q = ByteVector.fromMemorySegment(BYTES_16, src, block + 2 + 16L * half, LE);
        for (int p = 0; p < parts; p++) {
          ((FloatVector) q.convertShape(VectorOperators.B2F, SPECIES, p)).mul(scale)
              .intoMemorySegment(dst, 4L * (out + 16 * half + p * LANES), ORDER);
        }
      }
    }
  }
}
