package io.mqa4j.core;

/** How a KV cache stores each key and value element. */
public enum KvType {
  /** IEEE float32, native byte order. */
  F32(4);

  private final int bytesPerElement;

  KvType(int bytesPerElement) {
    this.bytesPerElement = bytesPerElement;
  }

  /** Bytes that one head of {@code headDim} elements takes. */
  public long headBytes(int headDim) {
    return (long) bytesPerElement * headDim;
  }

  /** Lower-case name as the command line spells it ({@code f32}). */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Parses {@code f32} and the like, ignoring case; the message names the accepted values. */
  public static KvType parse(String text) {
    for (KvType t : values()) {
      if (t.name().equalsIgnoreCase(text)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown KV type '" + text + "', expected one of "
        + java.util.Arrays.stream(values()).map(KvType::label).toList());
  }
}
