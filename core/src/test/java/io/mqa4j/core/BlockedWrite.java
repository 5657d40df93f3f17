package io.mqa4j.core;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;

/**
 * A write of a segment into a pipe that nobody reads until {@link #finish()}: the write blocks in
 * native I/O with the segment's arena acquired, so the arena cannot be closed meanwhile.
 */
final class BlockedWrite implements AutoCloseable {
  private final Pipe pipe;
  private final Thread writer;
  private final long bytes;

  BlockedWrite(MemorySegment segment) throws Exception {
    pipe = Pipe.open();
    bytes = segment.byteSize();
    writer = new Thread(() -> {
      try {
        ByteBuffer b = segment.asByteBuffer();
        while (b.hasRemaining()) {
          pipe.sink().write(b);
        }
      } catch (Exception e) {
        // the tests check the cache, not the writer
      }
    }, "blocked-write");
    writer.start();
    // Until the writer is inside the native write, the arena may not be acquired yet.
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!inNativeCode()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the write did not block within 10 s");
      }
      Thread.sleep(5);
    }
  }

  private boolean inNativeCode() {
    // A blocking write of more than the pipe holds stays in this one native call until drained.
    StackTraceElement[] stack = writer.getStackTrace();
    return stack.length > 0 && stack[0].isNativeMethod()
        && stack[0].getMethodName().startsWith("write");
  }

  /** Reads everything the writer sends and waits for it to end. */
  void finish() throws Exception {
    ByteBuffer b = ByteBuffer.allocate(1 << 16);
    long read = 0;
    while (read < bytes) {
      read += pipe.source().read(b.clear());
    }
    writer.join();
  }

  @Override
  public void close() throws Exception {
    pipe.source().close();
    pipe.sink().close();
    writer.join();
  }
}
