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

  @Test
  void outputThatCannotBeWrittenFailsTheRun() {
    java.io.OutputStream full = new java.io.OutputStream() {
      @Override
      public void write(int b) throws java.io.IOException {
        throw new java.io.IOException("No space left on device");
      }
    };
    java.io.StringWriter err = new java.io.StringWriter();
    int code = Mqa.run(new String[] {"profile", "--list"}, new java.io.PrintWriter(full, true),
        new java.io.PrintWriter(err, true));
    assertEquals(2, code);
    assertEquals("mqa profile: cannot write standard output (a full disk or a closed pipe?); what"
        + " was written is incomplete", err.toString().strip());
  }

  @Test
  void everyCommandPrintsTheVersion() {
    for (String command : new String[] {"compare", "attend", "roofline", "share", "profile", "report"}) {
      CliRun run = CliRun.of(command, "--version");
      assertEquals(0, run.exitCode(), command);
      assertTrue(run.out().startsWith("mqa4j "), command + ": " + run.out());
    }
  }

  @Test
  void mutuallyExclusiveOptionsAreSaidWithoutPicocliPrefix() {
    CliRun run = CliRun.of("profile", "--model", "llama-3-8b", "--list");
    assertEquals(2, run.exitCode());
    assertTrue(run.oneErrorLine(), run.err());
    assertTrue(run.err().startsWith("mqa profile: --model=NAME, --list are mutually exclusive"),
        run.err());
  }
}
