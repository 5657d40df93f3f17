package io.mqa4j.simd;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of daemon threads that, with the calling thread, drain numbered tasks of one job
 * at a time. Threads are created once (and again by the first job after {@link #stop}); a job
 * allocates nothing. A job of fewer tasks than threads wakes and waits for only as many workers
 * as it has tasks beyond the caller's: waking all of a large pool for two tasks cost a call about
 * 50 µs per worker on a two-core machine. Workers that ran a job spin briefly after it (decode
 * steps arrive back to back) and then park.
 */
final class WorkerPool {

  /** One job's work: task {@code task} run on worker {@code worker} (0 is the caller). */
  interface Body {
    void run(int task, int worker);
  }

  private static final long SPIN_NANOS = 50_000;
  /** Above the most workers a pool has ({@code AttentionKernels.MAX_THREADS} - 1). */
  private static final long TICKET_SPAN = 1L << 16;

  private final Thread[] threads;
  private final AtomicInteger nextTask = new AtomicInteger();
  private final AtomicInteger busyWorkers = new AtomicInteger();
  private volatile Body body;
  private volatile int taskCount;
  /**
   * The job last published: its sequence number times {@link #TICKET_SPAN}, plus the number of
   * workers that take part in it (those numbered 1 to it). One volatile word, so that a worker
   * never pairs one job's number with another's participants.
   */
  private volatile long ticket;
  /** Workers taking part in the job last published; caller only. */
  private int participants;
  private volatile Throwable failure;
  /** Whether a published job may still run on the workers; read and written by the caller only. */
  private boolean running;
  /** Whether every worker taking part in that job has been unparked; caller only. */
  private boolean woken;

  /** Whether the workers have been told to end (or have not been started again since). */
  private volatile boolean stopped;

  WorkerPool(int size) {
    threads = new Thread[size - 1];
    start();
  }

  /**
   * Starts a worker in every slot. Only the thread that runs jobs calls it, between jobs, with
   * no worker of the pool alive. If a thread cannot be made (no native thread left, say), the
   * workers already started end before the error is thrown, and the next job tries again.
   */
  private void start() {
    long seen = ticket; // new workers must not take the last job for one just published
    stopped = false;
    int started = 0;
    try {
      for (; started < threads.length; started++) {
        // The pool outlives the thread that happens to start it: inheriting that thread's
        // inheritable thread-locals or context class loader would hold them for the JVM's life.
        Thread t = new Worker(started + 1, seen);
        t.setContextClassLoader(WorkerPool.class.getClassLoader());
        threads[started] = t;
        t.start();
      }
    } catch (Throwable e) {
      endWorkers(started);
      throw e;
    }
  }

  /**
   * Ends the workers and waits until they have ended, so that the pool holds no live thread (nor,
   * through one, its class loader); the next job starts new ones. Only the thread that runs jobs
   * calls it, between jobs.
   */
  void stop() {
    if (!stopped) {
      endWorkers(threads.length);
    }
  }

  /** Tells the workers in the first {@code count} slots to end and waits for each. */
  private void endWorkers(int count) {
    stopped = true;
    for (int i = 0; i < count; i++) {
      LockSupport.unpark(threads[i]);
    }
    boolean interrupted = false;
    for (int i = 0; i < count; i++) {
      while (true) {
        try {
          threads[i].join();
          break;
        } catch (InterruptedException e) {
          interrupted = true; // the workers end at once; the caller's flag is kept for it
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** Whether the workers may touch {@code segment}: not when a confined arena owns it. */
  boolean shares(MemorySegment segment) {
    return threads.length == 0 || segment.isAccessibleBy(threads[0]);
  }

  /**
   * A pool's thread. Its own class lets a kernel tell that it is being called from inside some
   * pool's job, whichever pool's.
   */
  private final class Worker extends Thread {
    Worker(int worker, long seen) {
      super(null, null, "mqa4j-worker-" + worker, 0, false);
      setDaemon(true);
      // Not the priority of whichever caller happens to start (or restart) the pool.
      setPriority(NORM_PRIORITY);
      this.worker = worker;
      this.seen = seen;
    }

    private final int worker;
    private final long seen;

    @Override
    public void run() {
      workLoop(worker, seen);
    }
  }

  /** Whether {@code thread} is a worker of any pool. */
  static boolean isAnyWorker(Thread thread) {
    return thread instanceof Worker;
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

  /** Unparks the workers that take part in the job just published. */
  private void wake() {
    for (int i = 0; i < participants; i++) {
      LockSupport.unpark(threads[i]);
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
    if (stopped) { // stop() ended the workers; this job needs them again
      start();
    }
    body = job;
    taskCount = tasks;
    failure = null;
    nextTask.set(0);
    participants = Math.min(threads.length, tasks - 1);
    busyWorkers.set(participants);
    // volatile write: publishes the job to the workers
    // Past Long.MAX_VALUE the sequence wraps: the mask still reads the participants, and the
    // workers need only that each ticket differ from the one before.
    ticket = (ticket & ~(TICKET_SPAN - 1)) + TICKET_SPAN + participants;
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

  private void workLoop(int worker, long seen) {
    long spinUntil = System.nanoTime() + SPIN_NANOS;
    while (!stopped) {
      long t = ticket;
      if (t == seen) {
        if (System.nanoTime() < spinUntil) {
          Thread.onSpinWait();
        } else {
          // A task's user code (a KvView) may leave this thread interrupted; park returns at
          // once while the flag is set, so the worker would spin for the JVM's life. Workers
          // are never interrupted on purpose: the flag is dropped.
          Thread.interrupted();
          LockSupport.park(this);
        }
        continue;
      }
      seen = t;
      if (threads[worker - 1] != Thread.currentThread()) {
        return; // a worker of an earlier start whose stop was cut short: its slot is another's
      }
      if (worker > (t & (TICKET_SPAN - 1))) {
        continue; // not this job's: the caller neither woke nor waits for this worker
      }
      drain(worker);
      Thread.interrupted(); // nor does a task's flag reach the next job's user code
      busyWorkers.decrementAndGet();
      spinUntil = System.nanoTime() + SPIN_NANOS;
    }
  }
}
