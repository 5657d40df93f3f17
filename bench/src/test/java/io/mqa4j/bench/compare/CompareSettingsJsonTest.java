package io.mqa4j.bench.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A parent compare hands each forked JVM its settings as JSON; since --quick measures in its own
 * JVM, no end-to-end test forks any more, so the round trip is checked here.
 */
class CompareSettingsJsonTest {

  @Test
  void settingsWithEitherBudgetComeBackAsSent() throws Exception {
    for (StepTimer.Budget budget : List.of(StepTimer.Budget.NORMAL, StepTimer.Budget.QUICK)) {
      CompareSettings sent = new CompareSettings(List.of("decode", "prefill"), List.of(1024, 4096),
          List.of(128), 32, 8, 128, List.of("mha", "gqa", "mqa"), List.of("scalar", "simd"),
          List.of("f32", "bf16"), 2, 512, 16, budget).only("gqa", "bf16");
      String json = ReportFiles.json().writeValueAsString(sent);
      CompareSettings back = ReportFiles.json().readValue(json, CompareSettings.class);
      assertEquals(sent, back, json);
      assertEquals(budget, back.budget(), json);
    }
  }
}
