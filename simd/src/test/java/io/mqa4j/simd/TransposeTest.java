package io.mqa4j.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** Block transposes in registers move every element where the element loop would, and no other. */
class TransposeTest {

  @Test
  void blocksRunInRegistersOnX86AtEightAndSixteenNativeLanes() {
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    boolean x86 = arch.equals("amd64") || arch.equals("x86_64");
    boolean nativeWidth = VectorConstants.LANES
        <= jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
    assertEquals(x86 && nativeWidth && VectorConstants.LANES >= 8, Transpose.IN_REGISTERS,
        "lanes " + VectorConstants.LANES + " on " + arch);
  }

  @Property(tries = 300)
  void movesEveryElementToItsPlaceAndWritesNothingElse(
      @ForAll @IntRange(min = 1, max = 70) int rows,
      @ForAll @IntRange(min = 1, max = 150) int cols,
      @ForAll @IntRange(min = 0, max = 20) int srcPad,
      @ForAll @IntRange(min = 0, max = 20) int dstPad,
      @ForAll @IntRange(min = 0, max = 9) int srcOff,
      @ForAll @IntRange(min = 0, max = 9) int dstOff,
      @ForAll long seed) {
    Random random = new Random(seed);
    int srcStride = cols + srcPad;
    int dstStride = rows + dstPad;
    float[] src = new float[srcOff + rows * srcStride];
    for (int i = 0; i < src.length; i++) {
      src[i] = random.nextFloat();
    }
    float[] expected = new float[dstOff + cols * dstStride + 3];
    Arrays.fill(expected, -7f);
    float[] dst = expected.clone();
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        expected[dstOff + c * dstStride + r] = src[srcOff + r * srcStride + c];
      }
    }
    Transpose.transpose(src, srcOff, srcStride, rows, cols, dst, dstOff, dstStride);
    for (int i = 0; i < dst.length; i++) {
      int at = i;
      assertEquals(expected[i], dst[i], () -> "element " + at + " of " + rows + " x " + cols
          + ", strides " + srcStride + " and " + dstStride + ", lanes " + VectorConstants.LANES);
    }
  }
}
