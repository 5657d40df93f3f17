package io.mqa4j.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The top of the command line: what it says when no command is given. */
class MqaTest {

  @Test
  void noCommandListsEveryCommandOnceInOneLine() {
    CliRun run = CliRun.of();
    assertEquals(2, run.exitCode());
    assertTrue(run.oneErrorLine(), run.err());
    assertEquals("mqa: missing a command: compare, attend, roofline, share, profile or report"
        + " (see mqa --help)", run.err().strip());
  }
}
