package io.mqa4j.bench.npy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Reading and writing .npy files, against fixtures NumPy wrote (bench/src/test/python). */
class NpyTest {

  static Path fixture(String name) {
    return Path.of("src/test/resources/npy", name);
  }

  @Test
  void readsFloat32AsNumPyWroteIt() throws IOException {
    Npy.Array k = Npy.read(fixture("k.npy"));
    assertArrayEquals(new int[] {37, 2, 24}, k.shape());
    assertEquals("<f4", k.dtype());
    assertEquals(37 * 2 * 24, k.data().length);
  }

  @ParameterizedTest
  @CsvSource({"k_f64.npy, <f8", "k_f4_big.npy, >f4", "k_f8_big.npy, >f8"})
  void readsOtherWidthsAndByteOrdersExactly(String file, String dtype) throws IOException {
    float[] expected = Npy.read(fixture("k.npy")).data();
    Npy.Array a = Npy.read(fixture(file));
    assertEquals(dtype, a.dtype());
    assertArrayEquals(expected, a.data(), 0f, file);
  }

  @Test
  void readsFloat16WithinHalfPrecision() throws IOException {
    float[] expected = Npy.read(fixture("k.npy")).data();
    float[] half = Npy.read(fixture("k_f16.npy")).data();
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], half[i], Math.abs(expected[i]) * 0x1p-11f + 0x1p-24f, "element " + i);
      assertEquals(Float.float16ToFloat(Float.floatToFloat16(expected[i])), half[i], 0f);
    }
  }

  @ParameterizedTest
  @CsvSource({"small_v2.npy", "small_v3.npy"})
  void readsFormatVersions2And3(String file) throws IOException {
    Npy.Array a = Npy.read(fixture(file));
    assertArrayEquals(new int[] {2, 3}, a.shape());
    assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, a.data());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "int32.npy|dtype '<i4' is not supported",
      "fortran.npy|Fortran-order arrays are not supported",
      "truncated.npy|needs 384 data bytes but the file holds 374",
      "bad_magic.npy|not a .npy file",
      "bad_header.npy|malformed .npy header",
      "empty.npy|not a .npy file",
      "does-not-exist.npy|no such file"})
  void refusesMalformedFilesNamingTheProblem(String file, String message) {
    NpyException e = assertThrows(NpyException.class, () -> Npy.read(fixture(file)));
    assertTrue(e.getMessage().contains(message), e.getMessage());
    assertTrue(e.getMessage().contains(file), "names the file: " + e.getMessage());
  }

  @Test
  void refusesHeadersThatLieOrRunPastTheEnd() {
    assertRefused("{'descr': '<f4', 'fortran_order': False, }", "lacks 'shape'");
    assertRefused("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", "unexpected key");
    assertRefused("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", "True or False");
    assertRefused("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", "dimension");
    assertRefused("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999,), }", "too large");
    assertRefused("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", "after the dictionary");
    byte[] lying = header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8);
    lying[8] = (byte) 0xff; // header length far past the end of the file
    assertThrows(NpyException.class, () -> Npy.parse("lying", lying));
    byte[] future = header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8);
    future[6] = 4;
    NpyException e = assertThrows(NpyException.class, () -> Npy.parse("future", future));
    assertTrue(e.getMessage().contains("version 4.0"), e.getMessage());
  }

  private static void assertRefused(String dict, String message) {
    NpyException e = assertThrows(NpyException.class, () -> Npy.parse("h", header(dict, 8)));
    assertTrue(e.getMessage().contains(message), e.getMessage());
  }

  /** A version 1.0 file with {@code dict} as its header and {@code dataBytes} zero bytes of data. */
  private static byte[] header(String dict, int dataBytes) {
    byte[] text = (dict + "\n").getBytes(StandardCharsets.ISO_8859_1);
    byte[] out = new byte[10 + text.length + dataBytes];
    byte[] magic = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) text.length, (byte) (text.length >> 8)};
    System.arraycopy(magic, 0, out, 0, 10);
    System.arraycopy(text, 0, out, 10, text.length);
    return out;
  }

  @Test
  void writesAVersion1HeaderAlignedTo64Bytes() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Npy.write(bytes, new int[] {2, 3}, new float[6]);
    byte[] b = bytes.toByteArray();
    int headerLength = (b[8] & 0xff) | (b[9] & 0xff) << 8;
    assertEquals(0, (10 + headerLength) % 64);
    assertEquals('\n', b[10 + headerLength - 1]);
    assertEquals(10 + headerLength + 24, b.length);
    assertTrue(new String(b, 10, headerLength, StandardCharsets.ISO_8859_1)
        .startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
  }

  @Property(tries = 60)
  void writeThenReadRoundTrips(@ForAll @IntRange(min = 0, max = 4) int rank,
      @ForAll @IntRange(min = 0, max = 1000) int seed) throws IOException {
    java.util.Random random = new java.util.Random(seed);
    int[] shape = new int[rank];
    int count = 1;
    for (int i = 0; i < rank; i++) {
      shape[i] = random.nextInt(5);
      count *= shape[i];
    }
    float[] data = new float[count];
    for (int i = 0; i < count; i++) {
      data[i] = (float) random.nextGaussian();
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Npy.write(bytes, shape, data);
    Npy.Array back = Npy.parse("round trip", bytes.toByteArray());
    assertArrayEquals(shape, back.shape());
    assertArrayEquals(data, back.data());
  }

  @Test
  void writingToAFileLeavesNoTemporaryBehind(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("o.npy");
    Npy.write(file, new int[] {3}, new float[] {1, 2, 3});
    assertArrayEquals(new float[] {1, 2, 3}, Npy.read(file).data());
    try (var files = Files.list(dir)) {
      assertEquals(1, files.count());
    }
    assertThrows(IllegalArgumentException.class, () -> Npy.write(file, new int[] {2}, new float[3]));
    assertArrayEquals(new float[] {1, 2, 3}, Npy.read(file).data(), "the old file is untouched");
  }

  @Test
  void shapeTextIsPythonTupleSyntax() {
    assertEquals("()", Npy.shapeText(new int[0]));
    assertEquals("(3,)", Npy.shapeText(new int[] {3}));
    assertEquals("(2, 3)", Npy.shapeText(new int[] {2, 3}));
  }
}
