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
}
