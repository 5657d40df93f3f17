package io.mqa4j.bench.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

/** Warm-up waits for the JIT to go quiet, and is bounded when it never does. */
class StepTimerTest {

  private static final StepTimer.Budget TINY = new StepTimer.Budget(1_000_000L, 2, 1_000_000L, 3, 10, 0L);

  @Test
  void warmUpRunsUntilNoCompilationFinishesForThreeSteps() {
    AtomicInteger steps = new AtomicInteger();
    // Compilations finish during the first 40 steps (the budget alone would stop after 2).
    LongSupplier compiled = () -> Math.min(steps.get(), 40);
    StepTimer.Budget spentAtOnce = new StepTimer.Budget(0L, 2, 1_000_000L, 3, 10, 0L);
    StepTimer.warmUp(steps::incrementAndGet, spentAtOnce, compiled);
    assertEquals(43, steps.get(), "40 steps compiling, then three quiet ones");
  }

  @Test
  void warmUpAlsoWaitsAQuarterSecondWithNoCompilationFinishing() {
    // Quick steps with the compiler still busy: three quiet steps are not enough, since one C2
    // compilation of the vector loops lasts longer than many steps.
    AtomicInteger steps = new AtomicInteger();
    LongSupplier compiled = () -> Math.min(steps.get(), 40);
    StepTimer.Budget spentAtOnce = new StepTimer.Budget(0L, 2, 1_000_000L, 3, 10);
    long start = System.nanoTime();
    StepTimer.warmUp(steps::incrementAndGet, spentAtOnce, compiled);
    long quiet = System.nanoTime() - start;
    assertTrue(steps.get() > 43, "more than three quiet steps: " + steps.get());
    assertTrue(quiet >= StepTimer.QUIET_NANOS, "waited " + quiet + " ns");
  }

  @Test
  void samplesDuringWhichACompilationFinishedAreTakenAgain() {
    // Steps of 0.3 ms, one to a sample: 2 or 3 warm-up steps (2 when a step descheduled for
    // 50 ms counts as long), then 10 samples; the JIT finishes something at the 8th step, during
    // the first round of samples only. A second round means at least 2 + 10 + 2 + 10 steps,
    // against at most 3 + 10 without one. The second's long measure time keeps a slow machine
    // from cutting a round short at three samples.
    AtomicInteger steps = new AtomicInteger();
    long[] compiledMillis = {0};
    StepTimer.Timing t = StepTimer.time(() -> {
      if (steps.incrementAndGet() == 8) {
        compiledMillis[0] = 5;
      }
      long until = System.nanoTime() + 300_000;
      while (System.nanoTime() < until) {
        Thread.onSpinWait();
      }
    }, new StepTimer.Budget(0L, 2, 1_000_000_000L, 10, 10, 0L), () -> compiledMillis[0]);
    assertTrue(steps.get() >= 2 + 10 + 2 + 10, "a second round of samples: " + steps.get());
    assertEquals(10, t.samples());
  }

  @Test
  void withNoJitClockTheBudgetAloneDecides() {
    AtomicInteger steps = new AtomicInteger();
    StepTimer.Budget budget = new StepTimer.Budget(0L, 4, 1_000_000L, 3, 10, 0L);
    StepTimer.warmUp(steps::incrementAndGet, budget, null);
    assertEquals(4, steps.get());
  }

  @Test
  void aJitThatNeverGoesQuietStopsWarmUpAfterTwoSeconds() {
    AtomicInteger steps = new AtomicInteger();
    long start = System.nanoTime();
    StepTimer.warmUp(steps::incrementAndGet, TINY, () -> steps.get());
    double seconds = (System.nanoTime() - start) / 1e9;
    assertTrue(seconds >= 2 && seconds < 10, "stopped after " + seconds + " s");
  }

  @Test
  void aQuickWarmUpThatNeverGoesQuietStopsSooner() {
    AtomicInteger steps = new AtomicInteger();
    long start = System.nanoTime();
    StepTimer.warmUp(steps::incrementAndGet, StepTimer.Budget.QUICK, () -> steps.get());
    double seconds = (System.nanoTime() - start) / 1e9;
    assertTrue(seconds >= 0.8 && seconds < 1.9, "stopped after " + seconds + " s");
  }

  @Test
  void timingReportsTheMeasuredSamples() {
    StepTimer.Timing t = StepTimer.time(() -> { }, TINY, () -> 0L);
    assertTrue(t.samples() >= 3, "at least the minimum samples: " + t.samples());
    assertTrue(t.p10() <= t.median() && t.median() <= t.p90(), t.toString());
  }
}
