package io.mqa4j.bench.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.mqa4j.bench.cli.Mqa;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A forked command's refusal reaches the user as the child said it, not as a failed fork. */
class ForksTest {

  @Test
  void aChildRefusingItsInputIsBadInputInTheParent() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Forks.run(Mqa.class, List.of("roofline", "--threads", "0"), line -> { }));
    assertEquals("--threads must be in [1, 1024], got 0", e.getMessage());
  }
}
