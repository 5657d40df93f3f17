package io.mqa4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Kernel selection in core alone, where no SIMD provider is on the class path. */
class AttentionKernelsTest {

  @Test
  void scalarIsAlwaysThere() {
    assertEquals("scalar", AttentionKernels.scalar().name());
    assertSame(AttentionKernels.scalar(), AttentionKernels.lookup("scalar", 2));
  }

  @Test
  void autoFallsBackToScalarWithoutTheSimdModule() {
    assertFalse(AttentionKernels.simdAvailable());
    // The reason best() logs is there to read without a logger: the simd module is missing.
    String reason = AttentionKernels.simdUnavailableReason().orElseThrow();
    assertTrue(reason.contains("mqa4j-simd"), reason);
    assertSame(AttentionKernels.scalar(), AttentionKernels.lookup("auto", 2));
    assertSame(AttentionKernels.scalar(), AttentionKernels.best());
  }

  @Test
  void forcingSimdFailsLoudlyWithTheReason() {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> AttentionKernels.lookup("simd", 2));
    assertTrue(e.getMessage().contains("mqa4j-simd"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> AttentionKernels.simd(1));
  }

  @Test
  void aFailedChoiceOfBestIsThrownEachTimeAndNotKept() throws Exception {
    java.lang.reflect.Field chosen = AttentionKernels.class.getDeclaredField("best");
    chosen.setAccessible(true);
    Object before = chosen.get(null);
    String saved = System.getProperty(AttentionKernels.THREADS_PROPERTY);
    try {
      chosen.set(null, null); // as in a fresh JVM
      System.setProperty(AttentionKernels.THREADS_PROPERTY, "zero");
      for (int i = 0; i < 2; i++) { // the same named error each time, not a class that failed
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            AttentionKernels::best);
        assertTrue(e.getMessage().contains("mqa4j.threads"), e.getMessage());
      }
      System.clearProperty(AttentionKernels.THREADS_PROPERTY);
      assertSame(AttentionKernels.scalar(), AttentionKernels.best(), "once the cause is gone");
    } finally {
      if (saved == null) {
        System.clearProperty(AttentionKernels.THREADS_PROPERTY);
      } else {
        System.setProperty(AttentionKernels.THREADS_PROPERTY, saved);
      }
      chosen.set(null, before);
    }
  }

  @Test
  void badModesAndThreadCountsAreNamed() {
    IllegalArgumentException mode = assertThrows(IllegalArgumentException.class,
        () -> AttentionKernels.lookup("gpu", 2));
    assertEquals("mqa4j.kernel must be auto, scalar or simd, got 'gpu'", mode.getMessage());
    IllegalArgumentException threads = assertThrows(IllegalArgumentException.class,
        () -> AttentionKernels.simd(0));
    assertEquals("threads must be in [1, 1024], got 0", threads.getMessage());
    assertEquals("threads must be in [1, 1024], got 100000", assertThrows(IllegalArgumentException.class,
        () -> AttentionKernels.simd(100_000)).getMessage(), "a pool that size would fail to start");
    String saved = System.getProperty(AttentionKernels.THREADS_PROPERTY);
    try {
      System.setProperty(AttentionKernels.THREADS_PROPERTY, "zero");
      IllegalArgumentException property = assertThrows(IllegalArgumentException.class,
          AttentionKernels::defaultThreads);
      assertEquals("mqa4j.threads must be an integer in [1, 1024], got 'zero'", property.getMessage());
      System.setProperty(AttentionKernels.THREADS_PROPERTY, "5000");
      assertThrows(IllegalArgumentException.class, AttentionKernels::defaultThreads);
      System.setProperty(AttentionKernels.THREADS_PROPERTY, "3");
      assertEquals(3, AttentionKernels.defaultThreads());
    } finally {
      if (saved == null) {
        System.clearProperty(AttentionKernels.THREADS_PROPERTY);
      } else {
        System.setProperty(AttentionKernels.THREADS_PROPERTY, saved);
      }
    }
  }
}
