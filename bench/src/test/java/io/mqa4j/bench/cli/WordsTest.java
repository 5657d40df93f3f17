package io.mqa4j.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The command line a report prints must run the same command when pasted into a shell. */
class WordsTest {

  @ParameterizedTest
  @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
      "compare|compare",
      "--param=cache=paged|--param=cache=paged",
      "/tmp/a,b:c@d+e%f|/tmp/a,b:c@d+e%f",
      "sp ace|'sp ace'",
      "it's|'it'\\''s'",
      "$HOME|'$HOME'",
      "ünï|ünï",
      "\"\"|''"})
  void argumentsAreQuotedOnlyWhereAShellNeedsIt(String arg, String quoted) {
    assertEquals(quoted, Words.shellQuoted(arg));
  }
}
