package io.mqa4j.bench;

import java.lang.management.ManagementFactory;
import javax.management.ObjectName;

/** Bytes the calling thread has allocated so far, for tests that a path allocates nothing. */
public final class ThreadAllocation {
  private ThreadAllocation() {}

  public static long bytes() throws Exception {
    return (Long) ManagementFactory.getPlatformMBeanServer().invoke(
        new ObjectName(ManagementFactory.THREAD_MXBEAN_NAME), "getThreadAllocatedBytes",
        new Object[] {Thread.currentThread().threadId()}, new String[] {long.class.getName()});
  }

  /** Bytes the threads of {@code ids} have allocated so far, together (-1 for one that ended). */
  public static long bytes(long[] ids) throws Exception {
    long[] each = (long[]) ManagementFactory.getPlatformMBeanServer().invoke(
        new ObjectName(ManagementFactory.THREAD_MXBEAN_NAME), "getThreadAllocatedBytes",
        new Object[] {ids}, new String[] {long[].class.getName()});
    long sum = 0;
    for (long b : each) {
      if (b < 0) {
        throw new IllegalStateException("a thread of " + java.util.Arrays.toString(ids) + " ended");
      }
      sum += b;
    }
    return sum;
  }
}
