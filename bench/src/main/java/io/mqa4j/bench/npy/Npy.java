package io.mqa4j.bench.npy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import io.mqa4j.bench.io.AtomicFiles;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads and writes NumPy {@code .npy} files (format versions 1.0, 2.0 and 3.0) holding float16,
 * float32 or float64 arrays in C order, either byte order. Everything is read into a
 * {@code float[]}; files are always written as little-endian float32, version 1.0.
 *
 * <p>Every malformed input raises {@link NpyException} with a message that names the file and
 * what is wrong with it.
 */
public final class Npy {

  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  /** Headers are padded so the data starts on a multiple of this, as NumPy does. */
  private static final int ALIGN = 64;
  /** The most elements a Java array holds. */
  private static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

  private Npy() {}

  /** An array read from a {@code .npy} file: its shape, its data as float32, its stored dtype. */
  public record Array(int[] shape, float[] data, String dtype) {
    /** Number of dimensions. */
    public int rank() {
      return shape.length;
    }

    /** The shape as NumPy prints it, {@code (2, 3)}. */
    public String shapeText() {
      return Npy.shapeText(shape);
    }
  }

  /** Reads {@code file}; float16 and float64 data are converted to float32. */
  public static Array read(Path file) throws NpyException {
    if (Files.exists(file) && !Files.isRegularFile(file)) {
      // A pipe would block the read until someone writes to it; a directory cannot be read.
      throw new NpyException(file + ": not a regular file");
    }
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new NpyException(file + ": no such file");
    } catch (IOException e) {
      throw new NpyException(file + ": cannot read: " + io.mqa4j.bench.io.AtomicFiles.reason(e));
    } catch (OutOfMemoryError e) {
      throw new NpyException(file + ": too large to read into memory");
    }
    return parse(file.toString(), bytes);
  }

  /** Reads an array from {@code in}; {@code name} appears in error messages. */
  public static Array read(String name, InputStream in) throws NpyException {
    try {
      return parse(name, in.readAllBytes());
    } catch (IOException e) {
      throw new NpyException(name + ": cannot read: " + io.mqa4j.bench.io.AtomicFiles.reason(e));
    }
  }

  static Array parse(String name, byte[] bytes) throws NpyException {
    if (bytes.length < MAGIC.length + 2 || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      throw new NpyException(name + ": not a .npy file (no \\x93NUMPY magic)");
    }
    int major = bytes[6] & 0xff;
    int minor = bytes[7] & 0xff;
    ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    long headerLength;
    int headerStart;
    switch (major) {
      case 1 -> {
        requireLength(name, bytes, 10);
        headerLength = buffer.getShort(8) & 0xffff;
        headerStart = 10;
      }
      case 2, 3 -> {
        requireLength(name, bytes, 12);
        headerLength = buffer.getInt(8) & 0xffffffffL;
        headerStart = 12;
      }
      default -> throw new NpyException(name + ": unsupported .npy format version " + major + "."
          + minor + " (expected 1.0, 2.0 or 3.0)");
    }
    if (minor != 0) {
      throw new NpyException(name + ": unsupported .npy format version " + major + "." + minor
          + " (expected 1.0, 2.0 or 3.0)");
    }
    if (headerStart + headerLength > bytes.length) {
      throw new NpyException(name + ": header of " + headerLength + " bytes runs past the end of the "
          + bytes.length + "-byte file");
    }
    String header = new String(bytes, headerStart, (int) headerLength,
        major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    Header parsed = Header.parse(name, header);
    int dataStart = headerStart + (int) headerLength;

    Dtype dtype = Dtype.of(name, parsed.descr());
    if (parsed.fortranOrder()) {
      throw new NpyException(name + ": Fortran-order arrays are not supported; save a C-order "
          + "array (np.ascontiguousarray)");
    }
    long count = 1;
    for (int d : parsed.shape()) {
      count *= d; // both factors are below 2^31, so no overflow before the check
      if (count > MAX_ELEMENTS) {
        throw new NpyException(name + ": shape " + shapeText(parsed.shape()) + " has more than "
            + MAX_ELEMENTS + " elements");
      }
    }
    long expected = count * dtype.size;
    long actual = bytes.length - dataStart;
    if (actual != expected) {
      throw new NpyException(name + ": shape " + shapeText(parsed.shape()) + " of " + dtype.text
          + " needs " + expected + " data bytes but the file holds " + actual);
    }
    ByteBuffer data = ByteBuffer.wrap(bytes, dataStart, (int) actual).slice().order(dtype.order);
    float[] out = new float[(int) count];
    for (int i = 0; i < out.length; i++) {
      out[i] = switch (dtype.size) {
        case 2 -> Float.float16ToFloat(data.getShort(2 * i));
        case 4 -> data.getFloat(4 * i);
        default -> (float) data.getDouble(8 * i);
      };
    }
    return new Array(parsed.shape(), out, dtype.text);
  }

  private static void requireLength(String name, byte[] bytes, int length) throws NpyException {
    if (bytes.length < length) {
      throw new NpyException(name + ": truncated .npy header (" + bytes.length + " bytes)");
    }
  }

  /**
   * Writes {@code data} as a little-endian float32 array of {@code shape}. The file appears
   * complete or not at all: it is written beside the target and moved into place.
   */
  public static void write(Path file, int[] shape, float[] data) throws IOException {
    long count = 1;
    for (int d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("shape " + shapeText(shape) + " has a negative dimension");
      }
      count *= d;
    }
    if (count != data.length) {
      throw new IllegalArgumentException("shape " + shapeText(shape) + " holds " + count
          + " elements but data has " + data.length);
    }
    // Streamed: 2^29 floats or more are more bytes than an array holds.
    AtomicFiles.write(file, out -> write(out, shape, data));
  }

  /** Writes a version 1.0 little-endian float32 array to {@code out}. */
  public static void write(OutputStream out, int[] shape, float[] data) throws IOException {
    String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shapeText(shape) + ", }";
    int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1;
    int padding = (ALIGN - unpadded % ALIGN) % ALIGN;
    String header = dict + " ".repeat(padding) + "\n";
    out.write(MAGIC);
    out.write(new byte[] {1, 0, (byte) header.length(), (byte) (header.length() >>> 8)});
    out.write(header.getBytes(StandardCharsets.ISO_8859_1));
    ByteBuffer chunk = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : data) {
      if (!chunk.hasRemaining()) {
        out.write(chunk.array(), 0, chunk.position());
        chunk.clear();
      }
      chunk.putFloat(f);
    }
    out.write(chunk.array(), 0, chunk.position());
  }

  /** A shape as Python prints a tuple: {@code ()}, {@code (3,)}, {@code (2, 3)}. */
  public static String shapeText(int[] shape) {
    if (shape.length == 1) {
      return "(" + shape[0] + ",)";
    }
    StringBuilder s = new StringBuilder("(");
    for (int i = 0; i < shape.length; i++) {
      s.append(i == 0 ? "" : ", ").append(shape[i]);
    }
    return s.append(')').toString();
  }

  /** The element types we read, with their byte order. */
  private record Dtype(String text, int size, ByteOrder order) {
    static Dtype of(String name, String descr) throws NpyException {
      if (descr.length() == 3 && descr.charAt(1) == 'f') {
        ByteOrder order = switch (descr.charAt(0)) {
          case '<' -> ByteOrder.LITTLE_ENDIAN;
          case '>' -> ByteOrder.BIG_ENDIAN;
          case '=' -> ByteOrder.nativeOrder();
          default -> null;
        };
        int size = switch (descr.charAt(2)) {
          case '2' -> 2;
          case '4' -> 4;
          case '8' -> 8;
          default -> 0;
        };
        if (order != null && size != 0) {
          return new Dtype(descr, size, order);
        }
      }
      throw new NpyException(name + ": dtype '" + descr + "' is not supported (expected float16, "
          + "float32 or float64: '<f2', '<f4', '<f8' or big-endian '>f..')");
    }
  }

  /**
   * The header dictionary: a Python literal such as
   * {@code {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }}. Parsed strictly: exactly
   * these three keys, string and boolean and tuple values.
   */
  private record Header(String descr, boolean fortranOrder, int[] shape) {

    static Header parse(String name, String text) throws NpyException {
      Parser p = new Parser(name, text);
      String descr = null;
      Boolean fortran = null;
      int[] shape = null;
      p.expect('{');
      while (!p.peek('}')) {
        String key = p.string();
        p.expect(':');
        switch (key) {
          case "descr" -> descr = p.string();
          case "fortran_order" -> fortran = p.bool();
          case "shape" -> shape = p.tuple();
          default -> throw p.error("unexpected key '" + key + "'");
        }
        if (!p.peek('}')) {
          p.expect(',');
        }
      }
      p.expect('}');
      p.end();
      if (descr == null || fortran == null || shape == null) {
        throw p.error("header lacks " + (descr == null ? "'descr'" : fortran == null
            ? "'fortran_order'" : "'shape'"));
      }
      return new Header(descr, fortran, shape);
    }
  }

  /** A small recursive-descent reader for the header literal. */
  private static final class Parser {
    private final String name;
    private final String text;
    private int at;

    Parser(String name, String text) {
      this.name = name;
      this.text = text;
    }

    NpyException error(String what) {
      return new NpyException(name + ": malformed .npy header: " + what);
    }

    private void skipSpace() {
      while (at < text.length() && Character.isWhitespace(text.charAt(at))) {
        at++;
      }
    }

    boolean peek(char c) {
      skipSpace();
      return at < text.length() && text.charAt(at) == c;
    }

    void expect(char c) throws NpyException {
      if (!peek(c)) {
        throw error("expected '" + c + "' at offset " + at);
      }
      at++;
    }

    String string() throws NpyException {
      skipSpace();
      if (at >= text.length() || (text.charAt(at) != '\'' && text.charAt(at) != '"')) {
        throw error("expected a quoted string at offset " + at);
      }
      char quote = text.charAt(at++);
      int end = text.indexOf(quote, at);
      if (end < 0) {
        throw error("unterminated string at offset " + at);
      }
      String s = text.substring(at, end);
      at = end + 1;
      return s;
    }

    boolean bool() throws NpyException {
      skipSpace();
      if (text.startsWith("True", at)) {
        at += 4;
        return true;
      }
      if (text.startsWith("False", at)) {
        at += 5;
        return false;
      }
      throw error("expected True or False at offset " + at);
    }

    int[] tuple() throws NpyException {
      expect('(');
      List<Integer> dims = new ArrayList<>();
      while (!peek(')')) {
        int start = at;
        while (at < text.length() && Character.isDigit(text.charAt(at))) {
          at++;
        }
        if (start == at) {
          throw error("expected a dimension at offset " + at);
        }
        try {
          dims.add(Integer.parseInt(text.substring(start, at)));
        } catch (NumberFormatException e) {
          throw error("dimension " + text.substring(start, at) + " is too large");
        }
        if (!peek(')')) {
          expect(',');
        }
      }
      expect(')');
      return dims.stream().mapToInt(Integer::intValue).toArray();
    }

    void end() throws NpyException {
      skipSpace();
      if (at != text.length()) {
        throw error("unexpected text after the dictionary at offset " + at);
      }
    }
  }
}
