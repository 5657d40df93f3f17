package io.mqa4j.simd;

import static io.mqa4j.simd.VectorConstants.LANES;
import static io.mqa4j.simd.VectorConstants.SPECIES;

import java.util.Locale;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;

/**
 * Transposes a matrix of floats, as the lane-rows loops need their query rows across the lanes
 * and their sums back in rows. A decode call of 32 query rows of 128 spent about 2.3 µs of its
 * 5.2 µs (one key) moving elements one at a time to a stride; whole blocks of
 * {@code LANES x LANES} transposed in registers take 0.7 µs (16 lanes) or 0.95 µs (8 lanes).
 *
 * <p>A block is transposed as a block matrix is: swap the off-diagonal halves, then do the same
 * within each half, {@code log2(LANES)} times, each swap two two-vector rearranges per pair of
 * rows. Those are single instructions on x86 (or a few, on AVX2); elsewhere the Vector API may
 * run them as Java code far slower than the element loop, so other CPUs, 4 lanes and widths
 * past the CPU's own keep the loop.
 */
final class Transpose {
  private Transpose() {}

  /**
   * Whether whole blocks are transposed in registers on this CPU and vector width: not at a
   * width forced past the CPU's own ({@code mqa4j.vector.bits=512} without AVX-512), where the
   * rearranges run as Java code, about 170 times slower than the element loop.
   */
  static final boolean IN_REGISTERS = (LANES == 8 || LANES == 16) && isX86()
      && LANES <= FloatVector.SPECIES_PREFERRED.length();

  /** Per step, the first row's new lanes: its own where the step's bit is clear, else the second's. */
  private static final VectorShuffle<Float>[] LOW = shuffles(true);
  /** Per step, the second row's new lanes: the first's where the step's bit is clear, else its own. */
  private static final VectorShuffle<Float>[] HIGH = shuffles(false);

  /**
   * {@code dst[dstOff + c * dstStride + r] = src[srcOff + r * srcStride + c]} for
   * {@code r < rows}, {@code c < cols}.
   */
  static void transpose(float[] src, int srcOff, int srcStride, int rows, int cols, float[] dst,
      int dstOff, int dstStride) {
    int wholeRows = IN_REGISTERS ? rows - rows % LANES : 0;
    int wholeCols = IN_REGISTERS ? cols - cols % LANES : 0;
    for (int r = 0; r < wholeRows; r += LANES) {
      for (int c = 0; c < wholeCols; c += LANES) {
        int s = srcOff + r * srcStride + c;
        int d = dstOff + c * dstStride + r;
        if (LANES == 16) {
          block16(src, s, srcStride, dst, d, dstStride);
        } else {
          block8(src, s, srcStride, dst, d, dstStride);
        }
      }
    }
    // What the blocks leave: the last columns of their rows, and the rows after them.
    for (int r = 0; r < rows; r++) {
      for (int c = r < wholeRows ? wholeCols : 0; c < cols; c++) {
        dst[dstOff + c * dstStride + r] = src[srcOff + r * srcStride + c];
      }
    }
  }

  private static boolean isX86() {
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    return arch.equals("amd64") || arch.equals("x86_64");
  }

  @SuppressWarnings("unchecked")
  private static VectorShuffle<Float>[] shuffles(boolean low) {
    int steps = Integer.numberOfTrailingZeros(LANES);
    VectorShuffle<Float>[] shuffles = new VectorShuffle[steps];
    int step = 0;
    for (int half = LANES / 2; half >= 1; half /= 2, step++) {
      int[] from = new int[LANES];
      for (int lane = 0; lane < LANES; lane++) {
        // An index below 0 (index - LANES) picks the second vector's lane index.
        boolean bitClear = (lane & half) == 0;
        if (low) {
          from[lane] = bitClear ? lane : lane - half - LANES;
        } else {
          from[lane] = bitClear ? lane + half : lane - LANES;
        }
      }
      shuffles[step] = VectorShuffle.fromArray(SPECIES, from, 0);
    }
    return shuffles;
  }

  /** One 16 x 16 block: 16 row loads, 64 two-vector rearranges, 16 column stores. */
  private static void block16(float[] src, int s, int srcStride, float[] dst, int d,
      int dstStride) {
    FloatVector r0 = FloatVector.fromArray(SPECIES, src, s);
    FloatVector r1 = FloatVector.fromArray(SPECIES, src, s + 1 * srcStride);
    FloatVector r2 = FloatVector.fromArray(SPECIES, src, s + 2 * srcStride);
    FloatVector r3 = FloatVector.fromArray(SPECIES, src, s + 3 * srcStride);
    FloatVector r4 = FloatVector.fromArray(SPECIES, src, s + 4 * srcStride);
    FloatVector r5 = FloatVector.fromArray(SPECIES, src, s + 5 * srcStride);
    FloatVector r6 = FloatVector.fromArray(SPECIES, src, s + 6 * srcStride);
    FloatVector r7 = FloatVector.fromArray(SPECIES, src, s + 7 * srcStride);
    FloatVector r8 = FloatVector.fromArray(SPECIES, src, s + 8 * srcStride);
    FloatVector r9 = FloatVector.fromArray(SPECIES, src, s + 9 * srcStride);
    FloatVector r10 = FloatVector.fromArray(SPECIES, src, s + 10 * srcStride);
    FloatVector r11 = FloatVector.fromArray(SPECIES, src, s + 11 * srcStride);
    FloatVector r12 = FloatVector.fromArray(SPECIES, src, s + 12 * srcStride);
    FloatVector r13 = FloatVector.fromArray(SPECIES, src, s + 13 * srcStride);
    FloatVector r14 = FloatVector.fromArray(SPECIES, src, s + 14 * srcStride);
    FloatVector r15 = FloatVector.fromArray(SPECIES, src, s + 15 * srcStride);
    FloatVector s0x0 = r0.rearrange(LOW[0], r8);
    FloatVector s0x8 = r0.rearrange(HIGH[0], r8);
    FloatVector s0x1 = r1.rearrange(LOW[0], r9);
    FloatVector s0x9 = r1.rearrange(HIGH[0], r9);
    FloatVector s0x2 = r2.rearrange(LOW[0], r10);
    FloatVector s0x10 = r2.rearrange(HIGH[0], r10);
    FloatVector s0x3 = r3.rearrange(LOW[0], r11);
    FloatVector s0x11 = r3.rearrange(HIGH[0], r11);
    FloatVector s0x4 = r4.rearrange(LOW[0], r12);
    FloatVector s0x12 = r4.rearrange(HIGH[0], r12);
    FloatVector s0x5 = r5.rearrange(LOW[0], r13);
    FloatVector s0x13 = r5.rearrange(HIGH[0], r13);
    FloatVector s0x6 = r6.rearrange(LOW[0], r14);
    FloatVector s0x14 = r6.rearrange(HIGH[0], r14);
    FloatVector s0x7 = r7.rearrange(LOW[0], r15);
    FloatVector s0x15 = r7.rearrange(HIGH[0], r15);
    FloatVector s1x0 = s0x0.rearrange(LOW[1], s0x4);
    FloatVector s1x4 = s0x0.rearrange(HIGH[1], s0x4);
    FloatVector s1x1 = s0x1.rearrange(LOW[1], s0x5);
    FloatVector s1x5 = s0x1.rearrange(HIGH[1], s0x5);
    FloatVector s1x2 = s0x2.rearrange(LOW[1], s0x6);
    FloatVector s1x6 = s0x2.rearrange(HIGH[1], s0x6);
    FloatVector s1x3 = s0x3.rearrange(LOW[1], s0x7);
    FloatVector s1x7 = s0x3.rearrange(HIGH[1], s0x7);
    FloatVector s1x8 = s0x8.rearrange(LOW[1], s0x12);
    FloatVector s1x12 = s0x8.rearrange(HIGH[1], s0x12);
    FloatVector s1x9 = s0x9.rearrange(LOW[1], s0x13);
    FloatVector s1x13 = s0x9.rearrange(HIGH[1], s0x13);
    FloatVector s1x10 = s0x10.rearrange(LOW[1], s0x14);
    FloatVector s1x14 = s0x10.rearrange(HIGH[1], s0x14);
    FloatVector s1x11 = s0x11.rearrange(LOW[1], s0x15);
    FloatVector s1x15 = s0x11.rearrange(HIGH[1], s0x15);
    FloatVector s2x0 = s1x0.rearrange(LOW[2], s1x2);
    FloatVector s2x2 = s1x0.rearrange(HIGH[2], s1x2);
    FloatVector s2x1 = s1x1.rearrange(LOW[2], s1x3);
    FloatVector s2x3 = s1x1.rearrange(HIGH[2], s1x3);
    FloatVector s2x4 = s1x4.rearrange(LOW[2], s1x6);
    FloatVector s2x6 = s1x4.rearrange(HIGH[2], s1x6);
    FloatVector s2x5 = s1x5.rearrange(LOW[2], s1x7);
    FloatVector s2x7 = s1x5.rearrange(HIGH[2], s1x7);
    FloatVector s2x8 = s1x8.rearrange(LOW[2], s1x10);
    FloatVector s2x10 = s1x8.rearrange(HIGH[2], s1x10);
    FloatVector s2x9 = s1x9.rearrange(LOW[2], s1x11);
    FloatVector s2x11 = s1x9.rearrange(HIGH[2], s1x11);
    FloatVector s2x12 = s1x12.rearrange(LOW[2], s1x14);
    FloatVector s2x14 = s1x12.rearrange(HIGH[2], s1x14);
    FloatVector s2x13 = s1x13.rearrange(LOW[2], s1x15);
    FloatVector s2x15 = s1x13.rearrange(HIGH[2], s1x15);
    FloatVector s3x0 = s2x0.rearrange(LOW[3], s2x1);
    FloatVector s3x1 = s2x0.rearrange(HIGH[3], s2x1);
    FloatVector s3x2 = s2x2.rearrange(LOW[3], s2x3);
    FloatVector s3x3 = s2x2.rearrange(HIGH[3], s2x3);
    FloatVector s3x4 = s2x4.rearrange(LOW[3], s2x5);
    FloatVector s3x5 = s2x4.rearrange(HIGH[3], s2x5);
    FloatVector s3x6 = s2x6.rearrange(LOW[3], s2x7);
    FloatVector s3x7 = s2x6.rearrange(HIGH[3], s2x7);
    FloatVector s3x8 = s2x8.rearrange(LOW[3], s2x9);
    FloatVector s3x9 = s2x8.rearrange(HIGH[3], s2x9);
    FloatVector s3x10 = s2x10.rearrange(LOW[3], s2x11);
    FloatVector s3x11 = s2x10.rearrange(HIGH[3], s2x11);
    FloatVector s3x12 = s2x12.rearrange(LOW[3], s2x13);
    FloatVector s3x13 = s2x12.rearrange(HIGH[3], s2x13);
    FloatVector s3x14 = s2x14.rearrange(LOW[3], s2x15);
    FloatVector s3x15 = s2x14.rearrange(HIGH[3], s2x15);
    s3x0.intoArray(dst, d);
    s3x1.intoArray(dst, d + 1 * dstStride);
    s3x2.intoArray(dst, d + 2 * dstStride);
    s3x3.intoArray(dst, d + 3 * dstStride);
    s3x4.intoArray(dst, d + 4 * dstStride);
    s3x5.intoArray(dst, d + 5 * dstStride);
    s3x6.intoArray(dst, d + 6 * dstStride);
    s3x7.intoArray(dst, d + 7 * dstStride);
    s3x8.intoArray(dst, d + 8 * dstStride);
    s3x9.intoArray(dst, d + 9 * dstStride);
    s3x10.intoArray(dst, d + 10 * dstStride);
    s3x11.intoArray(dst, d + 11 * dstStride);
    s3x12.intoArray(dst, d + 12 * dstStride);
    s3x13.intoArray(dst, d + 13 * dstStride);
    s3x14.intoArray(dst, d + 14 * dstStride);
    s3x15.intoArray(dst, d + 15 * dstStride);
  }

  /** One 8 x 8 block: 8 row loads, 24 two-vector rearranges, 8 column stores. */
  private static void block8(float[] src, int s, int srcStride, float[] dst, int d,
      int dstStride) {
    FloatVector r0 = FloatVector.fromArray(SPECIES, src, s);
    FloatVector r1 = FloatVector.fromArray(SPECIES, src, s + 1 * srcStride);
    FloatVector r2 = FloatVector.fromArray(SPECIES, src, s + 2 * srcStride);
    FloatVector r3 = FloatVector.fromArray(SPECIES, src, s + 3 * srcStride);
    FloatVector r4 = FloatVector.fromArray(SPECIES, src, s + 4 * srcStride);
    FloatVector r5 = FloatVector.fromArray(SPECIES, src, s + 5 * srcStride);
    FloatVector r6 = FloatVector.fromArray(SPECIES, src, s + 6 * srcStride);
    FloatVector r7 = FloatVector.fromArray(SPECIES, src, s + 7 * srcStride);
    FloatVector s0x0 = r0.rearrange(LOW[0], r4);
    FloatVector s0x4 = r0.rearrange(HIGH[0], r4);
    FloatVector s0x1 = r1.rearrange(LOW[0], r5);
    FloatVector s0x5 = r1.rearrange(HIGH[0], r5);
    FloatVector s0x2 = r2.rearrange(LOW[0], r6);
    FloatVector s0x6 = r2.rearrange(HIGH[0], r6);
    FloatVector s0x3 = r3.rearrange(LOW[0], r7);
    FloatVector s0x7 = r3.rearrange(HIGH[0], r7);
    FloatVector s1x0 = s0x0.rearrange(LOW[1], s0x2);
    FloatVector s1x2 = s0x0.rearrange(HIGH[1], s0x2);
    FloatVector s1x1 = s0x1.rearrange(LOW[1], s0x3);
    FloatVector s1x3 = s0x1.rearrange(HIGH[1], s0x3);
    FloatVector s1x4 = s0x4.rearrange(LOW[1], s0x6);
    FloatVector s1x6 = s0x4.rearrange(HIGH[1], s0x6);
    FloatVector s1x5 = s0x5.rearrange(LOW[1], s0x7);
    FloatVector s1x7 = s0x5.rearrange(HIGH[1], s0x7);
    FloatVector s2x0 = s1x0.rearrange(LOW[2], s1x1);
    FloatVector s2x1 = s1x0.rearrange(HIGH[2], s1x1);
    FloatVector s2x2 = s1x2.rearrange(LOW[2], s1x3);
    FloatVector s2x3 = s1x2.rearrange(HIGH[2], s1x3);
    FloatVector s2x4 = s1x4.rearrange(LOW[2], s1x5);
    FloatVector s2x5 = s1x4.rearrange(HIGH[2], s1x5);
    FloatVector s2x6 = s1x6.rearrange(LOW[2], s1x7);
    FloatVector s2x7 = s1x6.rearrange(HIGH[2], s1x7);
    s2x0.intoArray(dst, d);
    s2x1.intoArray(dst, d + 1 * dstStride);
    s2x2.intoArray(dst, d + 2 * dstStride);
    s2x3.intoArray(dst, d + 3 * dstStride);
    s2x4.intoArray(dst, d + 4 * dstStride);
    s2x5.intoArray(dst, d + 5 * dstStride);
    s2x6.intoArray(dst, d + 6 * dstStride);
    s2x7.intoArray(dst, d + 7 * dstStride);
  }
}
