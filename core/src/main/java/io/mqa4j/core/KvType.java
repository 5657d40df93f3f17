package io.mqa4j.core;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * How a KV cache stores each key and value element. Every type stores one head of
 * {@code headDim} elements in {@link #headBytes(int)} contiguous bytes, little-endian except
 * {@link #F32}:
 * <ul>
 *   <li>{@link #F32}: IEEE float32 in the machine's native byte order, the order of the kernels'
 *       segment arguments and of {@link ContiguousKvCache}, so that one f32 loop reads them all
 *       (the same bytes as little-endian on x86 and AArch64);</li>
 *   <li>{@link #F16}: IEEE half, rounded to nearest even;</li>
 *   <li>{@link #BF16}: the top 16 bits of a float32, rounded to nearest even;</li>
 *   <li>{@link #Q8_0}: ggml's {@code block_q8_0}: blocks of 32 elements along the head, each an
 *       f16 scale {@code d} followed by 32 signed bytes {@code q}, the value being {@code q * d}
 *       (34 bytes per 32 elements). The head dimension must be a multiple of 32. {@code d} is
 *       {@code amax / 127} in f16, raised one f16 step where rounding would clip the block's
 *       largest value by more than half a step, and at most 65504 (f16's largest finite value):
 *       blocks with {@code amax <= 65504 * 127.5} decode within half a step of the input, larger
 *       ones saturate at {@code ±127 * 65504}. {@code q} is rounded to nearest, ties away from
 *       zero (as ggml). A NaN in a block makes the whole block NaN.</li>
 * </ul>
 * {@link #encode} and {@link #decode} are the reference conversions; kernels may read the bytes
 * directly but must produce the same float for each element.
 */
public enum KvType {
  /** IEEE float32. */
  F32,
  /** IEEE binary16. */
  F16,
  /** bfloat16. */
  BF16,
  /** ggml's 8-bit block quantisation: 32 int8 values sharing one f16 scale. */
  Q8_0;

  /** Elements that share one scale in {@link #Q8_0}. */
  public static final int Q8_0_BLOCK = 32;
  /** Bytes of one {@link #Q8_0} block: an f16 scale and 32 int8 values. */
  public static final int Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;

  /** F32's layout: native order (see the class comment). */
  static final ValueLayout.OfFloat FLOAT_NATIVE = ValueLayout.JAVA_FLOAT_UNALIGNED;
  static final ValueLayout.OfShort SHORT_LE =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
  /** The f16 bits of 65504, the largest finite half. */
  private static final short F16_MAX_BITS = 0x7bff;
  /** The f16 bits of positive infinity. */
  private static final short F16_INFINITY_BITS = 0x7c00;

  /** Bytes that one head of {@code headDim} elements takes. */
  public long headBytes(int headDim) {
    checkHeadDim(headDim);
    return switch (this) {
      case F32 -> 4L * headDim;
      case F16, BF16 -> 2L * headDim;
      case Q8_0 -> (long) (headDim / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
    };
  }

  /** Whether a head of {@code headDim} elements can be stored in this type. */
  public boolean supportsHeadDim(int headDim) {
    return headDim > 0 && (this != Q8_0 || headDim % Q8_0_BLOCK == 0);
  }

  /** Throws {@link IllegalArgumentException} naming {@code headDim} unless it can be stored. */
  public void checkHeadDim(int headDim) {
    if (headDim <= 0) {
      throw new IllegalArgumentException("headDim must be positive, got " + headDim);
    }
    if (!supportsHeadDim(headDim)) {
      throw new IllegalArgumentException("KV type q8_0 needs a head dim that is a multiple of "
          + Q8_0_BLOCK + ", got headDim=" + headDim);
    }
  }

  /**
   * Stores {@code headDim} floats from {@code src[srcOffset..]} as one head at byte
   * {@code dstOffset} of {@code dst}. Arguments that do not hold a whole head (or a head dim this
   * type cannot store) are refused with an {@link IllegalArgumentException} naming them, before
   * anything is written.
   */
  public void encode(float[] src, int srcOffset, int headDim, MemorySegment dst, long dstOffset) {
    checkHead("src", src, srcOffset, headDim, "dst", dst, dstOffset);
    if (dst.isReadOnly()) {
      throw new IllegalArgumentException("dst must be writable, got a read-only segment");
    }
    encodeHead(src, srcOffset, headDim, dst, dstOffset);
  }

  /** {@link #encode} without the checks, for callers that have made them (the cache's append). */
  void encodeHead(float[] src, int srcOffset, int headDim, MemorySegment dst, long dstOffset) {
    switch (this) {
      case F32 -> MemorySegment.copy(src, srcOffset, dst, FLOAT_NATIVE, dstOffset, headDim);
      case F16 -> {
        for (int i = 0; i < headDim; i++) {
          dst.set(SHORT_LE, dstOffset + 2L * i, Float.floatToFloat16(src[srcOffset + i]));
        }
      }
      case BF16 -> {
        for (int i = 0; i < headDim; i++) {
          dst.set(SHORT_LE, dstOffset + 2L * i, floatToBf16(src[srcOffset + i]));
        }
      }
      case Q8_0 -> {
        for (int b = 0; b < headDim / Q8_0_BLOCK; b++) {
          encodeQ8Block(src, srcOffset + b * Q8_0_BLOCK, dst, dstOffset + (long) b * Q8_0_BLOCK_BYTES);
        }
      }
    }
  }

  /**
   * Reads one head at byte {@code srcOffset} of {@code src} into {@code dst[dstOffset..]}, with
   * the checks of {@link #encode}.
   */
  public void decode(MemorySegment src, long srcOffset, int headDim, float[] dst, int dstOffset) {
    checkHead("dst", dst, dstOffset, headDim, "src", src, srcOffset);
    for (int i = 0; i < headDim; i++) {
      dst[dstOffset + i] = elementAt(src, srcOffset, i);
    }
  }

  /**
   * Element {@code i} of the head stored at byte {@code headOffset} of {@code src}. Negative
   * arguments, or an element past the end of {@code src}, are refused naming them.
   */
  public float element(MemorySegment src, long headOffset, int i) {
    Objects.requireNonNull(src, "src");
    if (headOffset < 0 || i < 0) {
      throw new IllegalArgumentException("headOffset and i must be >= 0, got headOffset="
          + headOffset + ", i=" + i);
    }
    long end = switch (this) {
      case F32 -> headOffset + 4L * i + 4;
      case F16, BF16 -> headOffset + 2L * i + 2;
      case Q8_0 -> headOffset + (long) (i / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES + 2 + i % Q8_0_BLOCK + 1;
    };
    // end wraps negative for an offset near Long.MAX_VALUE; such an offset is past any segment.
    if (end > src.byteSize() || end < 0) {
      throw new IllegalArgumentException("element i=" + i + " of a " + label()
          + " head at headOffset=" + headOffset + " ends "
          + (end < 0 ? "past the largest long" : "at byte " + end) + ", past src's "
          + src.byteSize() + " bytes");
    }
    return elementAt(src, headOffset, i);
  }

  /**
   * {@link #element} without the checks: the scalar kernel's inner loop, over blocks it has
   * checked once per call.
   */
  float elementAt(MemorySegment src, long headOffset, int i) {
    return switch (this) {
      case F32 -> src.get(FLOAT_NATIVE, headOffset + 4L * i);
      case F16 -> Float.float16ToFloat(src.get(SHORT_LE, headOffset + 2L * i));
      case BF16 -> bf16ToFloat(src.get(SHORT_LE, headOffset + 2L * i));
      case Q8_0 -> {
        long block = headOffset + (long) (i / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
        float d = Float.float16ToFloat(src.get(SHORT_LE, block));
        yield src.get(ValueLayout.JAVA_BYTE, block + 2 + i % Q8_0_BLOCK) * d;
      }
    };
  }

  private void checkHead(String arrayName, float[] array, int arrayOffset, int headDim,
      String segmentName, MemorySegment segment, long segmentOffset) {
    checkHeadDim(headDim);
    Objects.requireNonNull(array, arrayName);
    Objects.requireNonNull(segment, segmentName);
    if (arrayOffset < 0 || arrayOffset > array.length - headDim) {
      throw new IllegalArgumentException(arrayName + "Offset=" + arrayOffset + " and headDim="
          + headDim + " run outside " + arrayName + "'s " + array.length + " floats");
    }
    long bytes = headBytes(headDim);
    if (segmentOffset < 0 || segmentOffset > segment.byteSize() - bytes) {
      throw new IllegalArgumentException(segmentName + "Offset=" + segmentOffset + " and a "
          + label() + " head of headDim=" + headDim + " (" + bytes + " bytes) run outside "
          + segmentName + "'s " + segment.byteSize() + " bytes");
    }
  }

  /** Rounds {@code value} to the nearest bfloat16, ties to even; NaN stays NaN. */
  public static short floatToBf16(float value) {
    int bits = Float.floatToRawIntBits(value);
    if ((bits & 0x7fffffff) > 0x7f800000) {
      return (short) ((bits >>> 16) | 0x0040); // quiet NaN, sign kept
    }
    int rounding = 0x7fff + ((bits >>> 16) & 1);
    return (short) ((bits + rounding) >>> 16);
  }

  /** The float a bfloat16 stands for (exact). */
  public static float bf16ToFloat(short bits) {
    return Float.intBitsToFloat((bits & 0xffff) << 16);
  }

  /**
   * One Q8_0 block. The scale is rounded to f16 first and the values quantised against the
   * rounded scale, so every stored value is within half a step of the input (ggml quantises
   * against the unrounded scale, which can miss by a little more).
   */
  private static void encodeQ8Block(float[] src, int from, MemorySegment dst, long at) {
    float amax = 0f;
    for (int i = 0; i < Q8_0_BLOCK; i++) {
      amax = Math.max(amax, Math.abs(src[from + i]));
    }
    short scaleBits = Float.floatToFloat16(amax / 127f);
    // Among f16 subnormals rounding can lower the scale by up to half of 2^-24, enough for the
    // largest value to clip beyond half a step (or for a tiny block to get d = 0): take the next
    // f16 up. d * 127.5 is exact in float (11 + 8 significant bits).
    if (Float.float16ToFloat(scaleBits) * 127.5f < amax) {
      scaleBits++;
    }
    // Past 65504 * 127.5 the scale rounds or steps up to infinity, and q * inf decodes as NaN.
    if (scaleBits == F16_INFINITY_BITS) {
      scaleBits = F16_MAX_BITS;
    }
    float d = Float.float16ToFloat(scaleBits);
    dst.set(SHORT_LE, at, scaleBits);
    for (int i = 0; i < Q8_0_BLOCK; i++) {
      // x * (1/d) in float rounds twice and can cross a .5 tie (4.4999996 became 5). x / d in
      // double is within 2^-53 relative of the true quotient, far closer than a float over an
      // f16 can come to a tie without being one, so it rounds to the nearest integer. Exact
      // ties go away from zero, as ggml's roundf does, so -x stores -q.
      double r = d == 0f ? 0 : src[from + i] / (double) d;
      long q = r < 0 ? -Math.round(-r) : Math.round(r);
      dst.set(ValueLayout.JAVA_BYTE, at + 2 + i, (byte) Math.clamp(q, -127, 127));
    }
  }

  /** Lower-case name as the command line spells it ({@code f32}, {@code q8_0}). */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses {@code f32} and the like, ignoring case; the message names the accepted values. */
  public static KvType parse(String text) {
    for (KvType t : values()) {
      if (t.name().equalsIgnoreCase(text)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown KV type '" + text + "', expected one of "
        + Arrays.stream(values()).map(KvType::label).toList());
  }
}
