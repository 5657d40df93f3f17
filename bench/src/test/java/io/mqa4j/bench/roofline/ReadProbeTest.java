package io.mqa4j.bench.roofline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ReadProbeTest {

  @Test
  void eachPassReportsAPositiveRate() {
    try (ReadProbe probe = ReadProbe.open(2, 8L << 20)) {
      assertEquals(2, probe.threads());
      assertEquals(8L << 20, probe.bufferBytes());
      assertTrue(probe.readGBps() > 0);
      assertTrue(probe.readGBps() > 0);
    }
  }

  @Test
  void badArgumentsAreNamed() {
    IllegalArgumentException threads = assertThrows(IllegalArgumentException.class,
        () -> ReadProbe.open(0, 8L << 20));
    assertTrue(threads.getMessage().contains("threads must be >= 1, got 0"), threads.getMessage());
    IllegalArgumentException bytes = assertThrows(IllegalArgumentException.class,
        () -> ReadProbe.open(1, 1000));
    assertTrue(bytes.getMessage().contains("bufferBytes must be >= 1 MiB, got 1000"), bytes.getMessage());
  }
}
