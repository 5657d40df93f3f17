package io.mqa4j.core.spi;

import io.mqa4j.core.AttentionKernel;

/**
 * A source of kernels found through {@link java.util.ServiceLoader}. Its constructor checks that
 * it can run here and throws {@link UnsupportedOperationException} with the reason when it cannot,
 * so that {@link io.mqa4j.core.AttentionKernels#best()} falls back to the scalar kernels. A
 * setting of its own that it refuses (a bad system property) it throws as an
 * {@link IllegalArgumentException} naming the setting, which fails {@code best()} instead.
 */
public interface AttentionKernelProvider {

  /** The kernel family this provider makes: {@code simd}. */
  String name();

  /** A kernel that runs on up to {@code threads} threads (1 for none but the caller's). */
  AttentionKernel create(int threads);

  /**
   * Ends the threads of every kernel this provider has made, each once its call in progress
   * returns; a kernel called afterwards starts its threads again. See
   * {@link io.mqa4j.core.AttentionKernels#releaseThreads()}. A provider without threads does
   * nothing.
   */
  default void releaseThreads() {}
}
