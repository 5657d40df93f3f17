package io.mqa4j.simd;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.spi.AttentionKernelProvider;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Provides the Vector API kernels. Its constructor declines (with {@link
 * UnsupportedOperationException} saying how to fix it) when {@code jdk.incubator.vector} is not
 * in the boot layer, before any Vector API class is touched.
 */
public final class PanamaKernelProvider implements AttentionKernelProvider {

  // One kernel (and so one thread pool) per thread count for the life of the JVM.
  private static final ConcurrentHashMap<Integer, PanamaAttentionKernel> KERNELS = new ConcurrentHashMap<>();

  /** Checks that the Vector API can run here; throws {@link UnsupportedOperationException} if not. */
  public PanamaKernelProvider() {
    if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      throw new UnsupportedOperationException(
          "the jdk.incubator.vector module is not present; start java with --add-modules jdk.incubator.vector");
    }
    // Checked before VectorConstants loads: its species would fail in a static initialiser,
    // whose error carries no message, and the property would go unnamed.
    String asked = System.getProperty(VectorConstants.BITS_PROPERTY);
    if (asked != null && !asked.isBlank() && !List.of("128", "256", "512").contains(asked.trim())) {
      throw new IllegalArgumentException(
          VectorConstants.BITS_PROPERTY + " must be 128, 256 or 512, got '" + asked + "'");
    }
    int bits = VectorConstants.preferredBits();
    if (bits < 128) {
      throw new UnsupportedOperationException("this CPU's preferred vector width is " + bits
          + " bits; the SIMD kernels need at least 128");
    }
    // Fails loudly on a bad mqa4j.vector.bits value rather than silently picking a width.
    VectorConstants.selectSpecies(System.getProperty(VectorConstants.BITS_PROPERTY));
  }

  @Override
  public String name() {
    return "simd";
  }

  @Override
  public AttentionKernel create(int threads) {
    if (threads < 1 || threads > AttentionKernels.MAX_THREADS) {
      throw new IllegalArgumentException("threads must be in [1, " + AttentionKernels.MAX_THREADS
          + "], got " + threads);
    }
    return KERNELS.computeIfAbsent(threads, PanamaAttentionKernel::new);
  }

  @Override
  public void releaseThreads() {
    for (PanamaAttentionKernel kernel : KERNELS.values()) {
      kernel.releaseThreads();
    }
  }
}
