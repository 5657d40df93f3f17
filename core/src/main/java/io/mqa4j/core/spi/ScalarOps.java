package io.mqa4j.core.spi;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The scalar element loops of the reference kernel over f32 segments (native byte order). Vector
 * kernels call the same loops for their tails, so a tail means exactly what the reference means.
 * Offsets are in bytes; element ranges are {@code [from, to)}.
 */
public final class ScalarOps {
  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

  private ScalarOps() {}

  /** {@code sum a[i] * b[i]} for {@code i} in {@code [from, to)}. */
  public static float dot(MemorySegment a, long aOffset, MemorySegment b, long bOffset, int from, int to) {
    float sum = 0f;
    for (int i = from; i < to; i++) {
      sum += a.get(F32, aOffset + 4L * i) * b.get(F32, bOffset + 4L * i);
    }
    return sum;
  }

  /** {@code acc[i] += w * x[i]} for {@code i} in {@code [from, to)}. */
  public static void axpy(float w, MemorySegment x, long xOffset, MemorySegment acc, long accOffset,
      int from, int to) {
    for (int i = from; i < to; i++) {
      long at = accOffset + 4L * i;
      acc.set(F32, at, acc.get(F32, at) + w * x.get(F32, xOffset + 4L * i));
    }
  }

  /** {@code acc[i] *= c} for {@code i} in {@code [from, to)}. */
  public static void scale(float c, MemorySegment acc, long accOffset, int from, int to) {
    for (int i = from; i < to; i++) {
      long at = accOffset + 4L * i;
      acc.set(F32, at, acc.get(F32, at) * c);
    }
  }

  /** {@code acc[i] = 0} for {@code i} in {@code [from, to)}. */
  public static void zero(MemorySegment acc, long accOffset, int from, int to) {
    for (int i = from; i < to; i++) {
      acc.set(F32, accOffset + 4L * i, 0f);
    }
  }
}
