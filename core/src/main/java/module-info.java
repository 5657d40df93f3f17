/**
 * mqa4j core: the attention API, the scalar reference kernels and the KV cache.
 *
 * <p>Vector API kernels live in {@code io.mqa4j.simd} and are found at run time through
 * {@link io.mqa4j.core.spi.AttentionKernelProvider}; without them every call runs on the scalar
 * kernels.
 */
module io.mqa4j.core {
  requires org.slf4j;
  requires jdk.jfr;

  exports io.mqa4j.core;
  exports io.mqa4j.core.spi;
  exports io.mqa4j.core.jfr;

  uses io.mqa4j.core.spi.AttentionKernelProvider;
}
