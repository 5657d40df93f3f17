package io.mqa4j.bench.roofline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.bench.ThreadAllocation;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class RooflineTest {

  @Test
  void theClockCoversTheWorkersEvenWhenTheyLeaveNoCpuToTheCaller() {
    // As many busy workers as CPUs: the caller may not run again until they are done, and a
    // clock it starts then misses their work (a 64 MiB read once measured at 20 TB/s).
    int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
    for (int round = 0; round < 5; round++) {
      long nanos = Roofline.runParallel(threads, t -> {
        long end = System.nanoTime() + 30_000_000L;
        while (System.nanoTime() < end) {
          Thread.onSpinWait();
        }
      });
      assertTrue(nanos >= 29_000_000L, "round " + round + ": measured " + nanos + " ns of 30 ms");
    }
  }

  @Test
  void reportsTheShapeItMeasured() {
    Roofline.Result r = Roofline.measure(2, 8L << 20, 1);
    assertEquals(2, r.threads());
    assertEquals(8L << 20, r.bufferBytes());
    assertEquals(FloatVector.SPECIES_PREFERRED.vectorBitSize(), r.speciesBits());
    assertTrue(r.readGBps() > 0 && r.readGBpsOneThread() > 0, r.toString());
    assertTrue(r.fmaGflops() > 0 && r.fmaGflopsOneThread() > 0, r.toString());
  }

  /**
   * Once measure has warmed them up, a fresh call of either loop runs compiled code that keeps
   * its vectors in registers: boxed vectors would allocate on every step and time the allocator,
   * not the machine.
   */
  @Test
  void timedLoopsAllocateNothingOnceWarm() throws Exception {
    Roofline.measure(1, 4L << 20, 1);
    try (Arena arena = Arena.ofShared()) { // as measure allocates its buffer
      MemorySegment buffer = arena.allocate(4L << 20, 4096);
      long before = ThreadAllocation.bytes();
      float keep = Roofline.fmaChains(2_000_000);
      long fma = ThreadAllocation.bytes() - before;
      before = ThreadAllocation.bytes();
      keep += Roofline.sum(buffer, 0, buffer.byteSize());
      long read = ThreadAllocation.bytes() - before;
      assertTrue(fma < 64 << 10 && read < 64 << 10,
          "allocated " + fma + " bytes in the FMA loop, " + read + " in the read loop (" + keep + ")");
    }
  }
}
