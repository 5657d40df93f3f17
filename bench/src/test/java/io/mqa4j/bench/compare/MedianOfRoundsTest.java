package io.mqa4j.bench.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link CompareRun#medianOfRounds}: which round's row stands for a case. */
class MedianOfRoundsTest {

  private static Row row(String layout, int context, double micros) {
    int kvHeads = layout.equals("mha") ? 32 : 1;
    return new Row("decode", layout, 32, kvHeads, 128, context, "simd", "f32", 2, micros,
        micros * 0.9, micros * 1.1, 9, 1e6 / micros, 1024L * kvHeads, 1024L * kvHeads * context,
        4L * context * 32 * 128, 1, 1, null, null);
  }

  @Test
  void oneRoundIsLeftAsItIs() {
    List<Row> round = List.of(row("mha", 1024, 100));
    assertSame(round, CompareRun.medianOfRounds(List.of(round)));
    assertNull(round.get(0).roundMicros());
  }

  @Test
  void anOddCountTakesTheMiddleRoundAndKeepsEveryMedianInOrder() {
    List<Row> merged = CompareRun.medianOfRounds(List.of(
        List.of(row("mha", 1024, 300), row("mqa", 1024, 40)),
        List.of(row("mqa", 1024, 90), row("mha", 1024, 100)), // order within a round may differ
        List.of(row("mha", 1024, 200), row("mqa", 1024, 30))));
    assertEquals(List.of("mha", "mqa"), merged.stream().map(Row::layout).toList());
    assertEquals(200, merged.get(0).microsPerStep());
    assertEquals(180, merged.get(0).microsP10(), 1e-9, "the middle round's spread, not a mix");
    assertEquals(List.of(300.0, 100.0, 200.0), merged.get(0).roundMicros());
    assertEquals(40, merged.get(1).microsPerStep());
    assertEquals(List.of(40.0, 90.0, 30.0), merged.get(1).roundMicros());
  }

  @Test
  void anEvenCountTakesTheFasterOfTheMiddleTwo() {
    List<Row> merged = CompareRun.medianOfRounds(List.of(
        List.of(row("mqa", 4096, 50)), List.of(row("mqa", 4096, 80)),
        List.of(row("mqa", 4096, 60)), List.of(row("mqa", 4096, 70))));
    assertEquals(60, merged.get(0).microsPerStep());
  }

  @Test
  void roundsThatTimedDifferentCasesAreRefused() {
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> CompareRun.medianOfRounds(List.of(List.of(row("mha", 1024, 1), row("mqa", 1024, 1)),
            List.of(row("mha", 1024, 1)))));
    assertTrue(missing.getMessage().contains("one has 1 rows, the first 2"), missing.getMessage());
    IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
        () -> CompareRun.medianOfRounds(List.of(List.of(row("mha", 1024, 1), row("mqa", 1024, 1)),
            List.of(row("mha", 1024, 1), row("mha", 1024, 2)))));
    assertTrue(twice.getMessage().contains("timed 3 times in 2 rounds"), twice.getMessage());
    IllegalArgumentException other = assertThrows(IllegalArgumentException.class,
        () -> CompareRun.medianOfRounds(List.of(List.of(row("mha", 1024, 1)),
            List.of(row("mha", 4096, 1)))));
    assertTrue(other.getMessage().contains("is not in the first"), other.getMessage());
  }

  @Test
  void rowsWhoseRoundsDisagreeAreNamed() {
    List<Row> merged = CompareRun.medianOfRounds(List.of(
        List.of(row("mha", 1024, 1000), row("mqa", 1024, 100)),
        List.of(row("mha", 1024, 1100), row("mqa", 1024, 200))));
    List<String> notes = CompareRun.unsteadyNotes(merged);
    assertEquals(1, notes.size(), notes.toString());
    assertTrue(notes.get(0).startsWith("unsteady: decode mqa simd f32 1024 took"), notes.get(0));
    assertTrue(notes.get(0).contains("2.00x apart"), notes.get(0));
  }
}
