/**
 * mqa4j SIMD kernels: the contracts of {@code io.mqa4j.core} in Vector API code, found through
 * {@link java.util.ServiceLoader}. The incubator module is optional at run time: without it the
 * provider declines and core falls back to its scalar kernels.
 */
module io.mqa4j.simd {
  requires io.mqa4j.core;
  requires static jdk.incubator.vector;

  provides io.mqa4j.core.spi.AttentionKernelProvider with io.mqa4j.simd.PanamaKernelProvider;
}
