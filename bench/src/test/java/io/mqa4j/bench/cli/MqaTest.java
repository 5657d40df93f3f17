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

  @Test
  void anExclusiveChoiceGivenTwiceIsSaidPlainly() {
    CliRun run = CliRun.of("profile", "--list", "--list");
    assertEquals(2, run.exitCode());
    assertTrue(run.oneErrorLine(), run.err());
    assertEquals("mqa profile: give one of --model=NAME | --config=FILE | --list, once; got --list"
        + " and --list (see mqa profile --help)", run.err().strip());
  }

  @Test
  void verboseLastsOneRunOnly() {
    CliRun loud = CliRun.of("share", "-v", "--rounds", "0");
    assertEquals(2, loud.exitCode());
    assertTrue(loud.err().lines().count() > 1, "-v adds the stack trace: " + loud.err());
    CliRun quiet = CliRun.of("share", "--rounds", "0");
    assertEquals(2, quiet.exitCode());
    assertTrue(quiet.oneErrorLine(), "the next run without -v is one line again: " + quiet.err());
  }
}
