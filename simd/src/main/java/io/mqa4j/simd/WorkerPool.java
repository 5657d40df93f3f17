package io.mqa4j.simd;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of daemon threads that, with the calling thread, drain numbered tasks of one job
 * at a time. Threads are created once; a job allocates nothing. Workers spin briefly after a job
 * (decode steps arrive back to back) and then park.
 */
final class WorkerPool {

  /** One job's work: task {@code task} run on worker {@code worker} (0 is the caller). */
  interface Body {
    void run(int task, int worker);
  }

  private static final long SPIN_NANOS = 50_000;

  private final Thread[] threads;
  private final AtomicInteger nextTask = new AtomicInteger();
  private final AtomicInteger busyWorkers = new AtomicInteger();
  private volatile Body body;
  private volatile int taskCount;
  private volatile long generation;
  private volatile Throwable failure;
  /** Whether a published job may still run on the workers; read and written by the caller only. */
  private boolean running;
  /** Whether every worker has been unparked for that job; caller only. */
  private boolean woken;

  private volatile boolean stopped;

  WorkerPool(int size) {
    threads = new Thread[size - 1];
    try {
      for (int i = 0; i < threads.length; i++) {
        int worker = i + 1;
        // The pool outlives the thread that happens to create it: inheriting that thread's
        // inheritable thread-locals or context class loader would hold them for the JVM's life.
        Thread t = Thread.ofPlatform().name("mqa4j-worker-" + worker).daemon(true)
            .inheritInheritableThreadLocals(false).unstarted(() -> workLoop(worker));
        t.setContextClassLoader(WorkerPool.class.getClassLoader());
        threads[i] = t;
        t.start();
      }
    } catch (Throwable e) { // no native thread left, say: the workers already started must end
      stopped = true;
      for (Thread t : threads) {
        if (t != null) {
          LockSupport.unpark(t);
        }
      }
      throw e;
    }
  }

  /** Whether the workers may touch {@code segment}: not when a confined arena owns it. */
  boolean shares(MemorySegment segment) {
    return threads.length == 0 || segment.isAccessibleBy(threads[0]);
  }

  /** Whether {@code thread} is one of this pool's workers. */
  boolean isWorker(Thread thread) {
    for (Thread t : threads) {
      if (t == thread) {
        return true;
      }
    }
    return false;
  }

  /** Threads that run a job, the caller included. */
  int size() {
    return threads.length + 1;
  }

  /**
   * Waits until the workers have finished the job last published, if they have not yet been
   * waited for: {@link #run} does, and a caller whose wait a stack overflow cut short does again
   * from a shallower frame. Only the thread that runs jobs calls it.
   */
  void awaitWorkers() {
    if (running) {
      if (!woken) { // a stack overflow cut the wake-up short: parked workers would sleep on
        wake();
      }
      while (busyWorkers.get() != 0) {
        Thread.onSpinWait();
      }
      body = null;
      running = false;
    }
  }

  /** Unparks every worker for the job just published. */
  private void wake() {
    for (Thread t : threads) {
      LockSupport.unpark(t);
    }
    woken = true;
  }

  /** Runs tasks {@code [0, tasks)} of {@code job} and returns when all are done. Not reentrant. */
  void run(int tasks, Body job) {
    if (threads.length == 0 || tasks <= 1) {
      for (int t = 0; t < tasks; t++) {
        job.run(t, 0);
      }
      return;
    }
    body = job;
    taskCount = tasks;
    failure = null;
    nextTask.set(0);
    busyWorkers.set(threads.length);
    generation++; // volatile write: publishes the job to the workers
    running = true; // no call between the two, so no stack overflow can fall between them
    woken = false;
    try {
      wake();
      drain(0);
    } finally {
      // Whatever the caller's share met (a stack overflow), the workers still run this job:
      // returning before they finish would let them run into the next one.
      awaitWorkers();
    }
    Throwable f = failure;
    if (f != null) {
      if (f instanceof RuntimeException r) throw r;
      if (f instanceof Error e) throw e;
      throw new IllegalStateException(f);
    }
  }

  private void drain(int worker) {
    Body job = body;
    int tasks = taskCount;
    for (int t = nextTask.getAndIncrement(); t < tasks; t = nextTask.getAndIncrement()) {
      try {
        job.run(t, worker);
      } catch (Throwable e) {
        failure = e;
      }
    }
  }

  private void workLoop(int worker) {
    long seen = 0;
    while (!stopped) {
      long spinUntil = System.nanoTime() + SPIN_NANOS;
      while (generation == seen && !stopped) {
        if (System.nanoTime() < spinUntil) {
          Thread.onSpinWait();
        } else {
          // A task's user code (a KvView) may leave this thread interrupted; park returns at
          // once while the flag is set, so the worker would spin for the JVM's life. Workers
          // are never interrupted on purpose: the flag is dropped.
          Thread.interrupted();
          LockSupport.park(this);
        }
      }
      if (stopped) {
        return;
      }
      seen = generation;
      drain(worker);
      Thread.interrupted(); // nor does a task's flag reach the next job's user code
      busyWorkers.decrementAndGet();
    }
  }
}
