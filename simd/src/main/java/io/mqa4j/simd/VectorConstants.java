package io.mqa4j.simd;

import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Every Vector API constant of the module, so that loading the provider touches none of them
 * until the provider has checked that the incubator module is present.
 */
final class VectorConstants {
  /** System property choosing the vector width in bits (128, 256, 512); default: the CPU's. */
  static final String BITS_PROPERTY = "mqa4j.vector.bits";

  static final VectorSpecies<Float> SPECIES = selectSpecies(System.getProperty(BITS_PROPERTY));
  static final int LANES = SPECIES.length();
  static final ByteOrder ORDER = ByteOrder.nativeOrder();
  /** 16-bit lanes as many as {@link #SPECIES} has floats: f16 and bf16 rows load through it. */
  static final VectorSpecies<Short> SHORTS =
      VectorSpecies.of(short.class, VectorShape.forBitSize(SPECIES.vectorBitSize() / 2));
  /** 32-bit integer lanes of {@link #SPECIES}' shape, for bit-level conversions to float. */
  static final VectorSpecies<Integer> INTS = SPECIES.withLanes(int.class);
  /** Sixteen bytes: half a q8_0 block, expanded to floats in {@code 16 / LANES} parts. */
  static final VectorSpecies<Byte> BYTES_16 = ByteVector.SPECIES_128;

  private VectorConstants() {}

  static VectorSpecies<Float> selectSpecies(String bits) {
    if (bits == null || bits.isBlank()) {
      return FloatVector.SPECIES_PREFERRED;
    }
    return switch (bits.trim()) {
      case "128" -> FloatVector.SPECIES_128;
      case "256" -> FloatVector.SPECIES_256;
      case "512" -> FloatVector.SPECIES_512;
      default -> throw new IllegalArgumentException(
          BITS_PROPERTY + " must be 128, 256 or 512, got '" + bits + "'");
    };
  }

  /** The widest vector the CPU runs natively, in bits. */
  static int preferredBits() {
    return VectorShape.preferredShape().vectorBitSize();
  }
}
