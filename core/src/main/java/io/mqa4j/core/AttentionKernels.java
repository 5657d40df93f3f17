package io.mqa4j.core;

import io.mqa4j.core.spi.AttentionKernelProvider;
import java.util.Locale;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where kernels come from. {@link #scalar()} always works; {@link #best()} is the SIMD kernel when
 * the {@code io.mqa4j.simd} module and {@code jdk.incubator.vector} are present, else the scalar
 * one, chosen once and logged once.
 *
 * <p>System properties: {@code mqa4j.kernel} = {@code auto} (default), {@code scalar} or
 * {@code simd} forces the choice of {@link #best()} (a forced {@code simd} that cannot load fails
 * loudly); {@code mqa4j.threads} sets the thread count of {@link #best()} (default: all processors,
 * up to {@link #MAX_THREADS}); {@code mqa4j.vector.bits} (read by the SIMD provider) sets its
 * vector width. A bad value of any of them fails {@link #best()} rather than fall back, but for
 * {@code mqa4j.vector.bits} where the SIMD kernels cannot load at all (no {@code
 * jdk.incubator.vector}): {@code best()} then falls back to the scalar kernels as it would with
 * any width, and logs why.
 */
public final class AttentionKernels {

  /** System property that forces the kernel family: {@code auto}, {@code scalar} or {@code simd}. */
  public static final String KERNEL_PROPERTY = "mqa4j.kernel";
  /** System property for the thread count of {@link #best()}. */
  public static final String THREADS_PROPERTY = "mqa4j.threads";
  /**
   * The most threads a kernel's pool may have: far past any core count worth splitting keys over,
   * and well short of what makes thread creation itself fail.
   */
  public static final int MAX_THREADS = 1024;

  private static final Logger LOG = LoggerFactory.getLogger(AttentionKernels.class);

  private AttentionKernels() {}

  /** The scalar reference kernel, single-threaded. */
  public static AttentionKernel scalar() {
    return ScalarAttentionKernel.INSTANCE;
  }

  /**
   * The fastest kernel available here, chosen once per JVM. A choice that fails (a bad
   * {@code mqa4j.kernel}, {@code mqa4j.threads} or {@code mqa4j.vector.bits}, the SIMD module
   * missing when asked for) throws its exception on every call until a call succeeds; only a
   * success is kept.
   */
  public static AttentionKernel best() {
    AttentionKernel kernel = best;
    if (kernel == null) {
      synchronized (AttentionKernels.class) {
        kernel = best;
        if (kernel == null) {
          kernel = lookup(System.getProperty(KERNEL_PROPERTY, "auto").trim(), defaultThreads());
          best = kernel;
        }
      }
    }
    return kernel;
  }

  /** {@link #best()}'s kernel once chosen; a static initialiser would cache a failure forever. */
  private static volatile AttentionKernel best;

  /**
   * A SIMD kernel on {@code threads} threads; throws {@link IllegalStateException} saying why when
   * none can load here. Each thread count has one kernel, and one pool of {@code threads - 1}
   * daemon threads, for the life of the JVM (the threads until {@link #releaseThreads()}): every
   * call with the same count returns the same kernel. More threads than the machine has cores
   * only slow a call down.
   */
  public static AttentionKernel simd(int threads) {
    if (threads < 1 || threads > MAX_THREADS) {
      throw new IllegalArgumentException("threads must be in [1, " + MAX_THREADS + "], got " + threads);
    }
    Lookup found = findProvider("simd");
    if (found.provider == null) {
      throw new IllegalStateException("SIMD kernels are not available: " + found.reason);
    }
    return found.provider.create(threads);
  }

  /**
   * Whether a SIMD kernel can load in this JVM.
   *
   * @throws IllegalArgumentException when it would load but for a bad setting of it (a bad
   *     {@code mqa4j.vector.bits}), which is for the user to fix rather than to fall back from
   */
  public static boolean simdAvailable() {
    return findProvider("simd").provider != null;
  }

  /**
   * Why a SIMD kernel cannot load in this JVM (the incubator module missing, no provider on the
   * class path, a CPU without usable vectors), or empty when one can: what {@link #best()} logs
   * when it falls back to the scalar kernels, for an application without an SLF4J binding.
   *
   * @throws IllegalArgumentException as {@link #simdAvailable()}
   */
  public static Optional<String> simdUnavailableReason() {
    Lookup found = findProvider("simd");
    return found.provider != null ? Optional.empty() : Optional.of(found.reason);
  }

  /** Every processor this JVM sees, up to {@link #MAX_THREADS}: what "all processors" means here. */
  public static int processorThreads() {
    return Math.min(Runtime.getRuntime().availableProcessors(), MAX_THREADS);
  }

  /**
   * Threads used by {@link #best()}: {@code mqa4j.threads}, or all processors up to
   * {@link #MAX_THREADS}.
   */
  public static int defaultThreads() {
    String value = System.getProperty(THREADS_PROPERTY);
    if (value == null || value.isBlank()) {
      return processorThreads();
    }
    try {
      int threads = Integer.parseInt(value.trim());
      if (threads >= 1 && threads <= MAX_THREADS) {
        return threads;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    throw new IllegalArgumentException(THREADS_PROPERTY + " must be an integer in [1, " + MAX_THREADS
        + "], got '" + value + "'");
  }

  /**
   * Chooses a kernel the way {@link #best()} does for {@code mode} ({@code auto}, {@code scalar},
   * {@code simd}), logging the choice; visible for tests.
   */
  static AttentionKernel lookup(String mode, int threads) {
    switch (mode.toLowerCase(Locale.ROOT)) {
      case "scalar" -> {
        LOG.info("mqa4j: using the scalar kernels ({}=scalar)", KERNEL_PROPERTY);
        return scalar();
      }
      case "simd" -> {
        AttentionKernel kernel = simd(threads);
        LOG.info("mqa4j: using {}", kernel.description());
        return kernel;
      }
      case "auto", "" -> {
        Lookup found = findProvider("simd");
        if (found.provider == null) {
          LOG.warn("mqa4j: SIMD kernels unavailable ({}); using the scalar kernels", found.reason);
          return scalar();
        }
        AttentionKernel kernel = found.provider.create(threads);
        LOG.info("mqa4j: using {}", kernel.description());
        return kernel;
      }
      default -> throw new IllegalArgumentException(
          KERNEL_PROPERTY + " must be auto, scalar or simd, got '" + mode + "'");
    }
  }

  private record Lookup(AttentionKernelProvider provider, String reason) {}

  /** The message of the deepest cause that has one (a static initialiser's error has none). */
  private static String innermostMessage(Throwable e) {
    String message = e.toString();
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t.getMessage() != null) {
        message = t.getMessage();
      }
    }
    return message;
  }

  /** The {@link IllegalArgumentException} among {@code e}'s causes, if any. */
  private static IllegalArgumentException badSetting(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof IllegalArgumentException bad) {
        return bad;
      }
    }
    return null;
  }

  /**
   * Ends the worker threads of every SIMD kernel made so far, each once its call in progress has
   * returned, and drops the calling thread's reusable call state. A kernel called afterwards
   * starts its threads again (allocating them then), so this is not for the hot path: it is for
   * an application that unloads the library, such as a redeployed web application, whose class
   * loader the workers would otherwise keep. Other threads that called a kernel keep their call
   * state, which refers to the library's classes, until they end. Refused from a {@link KvView}
   * while a SIMD kernel reads it.
   */
  public static void releaseThreads() {
    for (ServiceLoader.Provider<AttentionKernelProvider> candidate : providers()) {
      AttentionKernelProvider provider;
      try {
        provider = candidate.get();
      } catch (ServiceConfigurationError | RuntimeException | LinkageError e) {
        continue; // a provider that cannot run here has made no kernel, so no thread
      }
      provider.releaseThreads();
    }
    io.mqa4j.core.spi.AbstractAttentionKernel.forgetThisThread();
  }

  /** The kernel providers on the path, not yet instantiated. */
  private static java.util.List<ServiceLoader.Provider<AttentionKernelProvider>> providers() {
    return ServiceLoader.load(AttentionKernelProvider.class, AttentionKernels.class.getClassLoader())
        .stream().toList();
  }

  private static Lookup findProvider(String name) {
    String reason = "no provider named '" + name + "' is on the module or class path"
        + " (add the mqa4j-simd artifact)";
    try {
      IllegalArgumentException badSetting = null;
      for (ServiceLoader.Provider<AttentionKernelProvider> candidate : providers()) {
        try {
          AttentionKernelProvider provider = candidate.get();
          if (provider.name().equals(name)) {
            return new Lookup(provider, null);
          }
        } catch (ServiceConfigurationError | UnsupportedOperationException | LinkageError e) {
          // A setting a provider refuses (a bad mqa4j.vector.bits) is the user's to fix: unless
          // another provider serves the name, it fails the call as a bad mqa4j.threads does,
          // rather than fall back without a word.
          if (badSetting == null) {
            badSetting = badSetting(e);
          }
          // The provider's constructor says why it cannot run here; report that, not a wrapper.
          reason = innermostMessage(e);
        }
      }
      if (badSetting != null) {
        throw badSetting;
      }
    } catch (ServiceConfigurationError e) {
      reason = "the provider could not load: " + e.getMessage();
    }
    return new Lookup(null, reason);
  }

}
