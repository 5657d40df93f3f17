package io.mqa4j.bench.roofline;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The read half of {@link Roofline}, kept open so that single passes can be timed between other
 * work: on a shared machine the bandwidth moves from minute to minute, and a kernel's share of it
 * is only meaningful against a reading taken beside it.
 */
public final class ReadProbe implements AutoCloseable {

  private final Arena arena;
  private final MemorySegment buffer;
  private final int threads;

  private ReadProbe(Arena arena, MemorySegment buffer, int threads) {
    this.arena = arena;
    this.buffer = buffer;
    this.threads = threads;
  }

  /** A probe reading {@code bufferBytes} of off-heap memory with {@code threads} threads, warmed up. */
  public static ReadProbe open(int threads, long bufferBytes) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }
    if (bufferBytes < (1L << 20)) {
      throw new IllegalArgumentException("bufferBytes must be >= 1 MiB, got " + bufferBytes);
    }
    Arena arena = Arena.ofShared();
    try {
      MemorySegment buffer = arena.allocate(bufferBytes, 4096);
      buffer.fill((byte) 0x3c); // touch every page before timing
      Roofline.warmUp(buffer);
      Roofline.readGBps(buffer, threads); // one untimed pass, as in Roofline
      return new ReadProbe(arena, buffer, threads);
    } catch (RuntimeException | Error e) {
      arena.close();
      throw e;
    }
  }

  /** One timed pass over the whole buffer, in GB/s (10^9 bytes per second). */
  public double readGBps() {
    return Roofline.readGBps(buffer, threads);
  }

  public int threads() {
    return threads;
  }

  public long bufferBytes() {
    return buffer.byteSize();
  }

  @Override
  public void close() {
    arena.close();
  }
}
