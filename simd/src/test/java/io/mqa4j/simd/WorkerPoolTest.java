package io.mqa4j.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URL;
import java.net.URLClassLoader;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The pool's threads: what they take from their creator, and what user code can leave on them. */
class WorkerPoolTest {

  @Test
  void aWorkerLeftInterruptedByATaskNeitherSpinsNorKeepsTheFlag() throws Exception {
    WorkerPool pool = new WorkerPool(3);
    // User code on a worker (a KvView restoring an interrupt it caught) leaves the flag set.
    pool.run(64, (task, worker) -> {
      if (worker != 0) {
        Thread.currentThread().interrupt();
      }
    });
    List<Thread> workers = workersOf(pool);
    assertEquals(2, workers.size());
    Thread.sleep(50); // past the spin after a job
    // An idle worker is parked (WAITING); one whose park returns at once is seen RUNNABLE.
    int runnable = 0;
    for (int sample = 0; sample < 20; sample++) {
      Thread.sleep(10);
      for (Thread w : workers) {
        runnable += w.getState() == Thread.State.RUNNABLE ? 1 : 0;
      }
    }
    assertTrue(runnable <= 4, "idle workers seen running in " + runnable + " of 40 samples");
    Set<Boolean> seen = ConcurrentHashMap.newKeySet();
    pool.run(64, (task, worker) -> {
      if (worker != 0) {
        seen.add(Thread.currentThread().isInterrupted());
      }
    });
    assertFalse(seen.contains(true), "the next job's code found the flag set");
  }

  @Test
  void workersTakeNeitherTheCreatorsInheritableThreadLocalsNorItsClassLoader() throws Exception {
    InheritableThreadLocal<byte[]> request = new InheritableThreadLocal<>();
    ClassLoader appLoader = new URLClassLoader(new URL[0], null);
    AtomicReference<WorkerPool> made = new AtomicReference<>();
    Thread creator = new Thread(() -> {
      Thread.currentThread().setContextClassLoader(appLoader);
      request.set(new byte[16]);
      made.set(new WorkerPool(3));
    });
    creator.start();
    creator.join();
    WorkerPool pool = made.get();
    for (Thread worker : workersOf(pool)) {
      assertNotSame(appLoader, worker.getContextClassLoader(), worker.getName());
    }
    Set<Boolean> inherited = ConcurrentHashMap.newKeySet();
    pool.run(64, (task, worker) -> {
      if (worker != 0) {
        inherited.add(request.get() != null);
      }
    });
    assertFalse(inherited.contains(true), "a worker saw its creator's thread-local");
  }

  @Test
  void aBadVectorWidthIsNamedBeforeTheVectorClassesLoad() {
    String saved = System.getProperty(VectorConstants.BITS_PROPERTY);
    try {
      System.setProperty(VectorConstants.BITS_PROPERTY, "384");
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, PanamaKernelProvider::new);
      assertEquals("mqa4j.vector.bits must be 128, 256 or 512, got '384'", e.getMessage());
      // Through the service lookup too, rather than a quiet fall back to the scalar kernel.
      IllegalArgumentException looked = assertThrows(IllegalArgumentException.class,
          io.mqa4j.core.AttentionKernels::simdAvailable);
      assertEquals(e.getMessage(), looked.getMessage());
    } finally {
      if (saved == null) {
        System.clearProperty(VectorConstants.BITS_PROPERTY);
      } else {
        System.setProperty(VectorConstants.BITS_PROPERTY, saved);
      }
    }
  }

  @Test
  void aJobOfFewTasksRunsOnAsFewWorkersAndEveryTaskRunsOnce() {
    WorkerPool pool = new WorkerPool(8);
    Set<Integer> ranOn = ConcurrentHashMap.newKeySet();
    java.util.concurrent.atomic.AtomicIntegerArray runs = new java.util.concurrent.atomic.AtomicIntegerArray(64);
    for (int round = 0; round < 300; round++) {
      int tasks = round % 3 == 0 ? 2 : round % 3 == 1 ? 3 : 64;
      for (int t = 0; t < 64; t++) {
        runs.set(t, 0);
      }
      pool.run(tasks, (task, worker) -> {
        runs.incrementAndGet(task);
        if (tasks == 2) {
          ranOn.add(worker);
        }
        if (tasks == 3) {
          assertTrue(worker <= 2, "a three-task job ran on worker " + worker);
        }
      });
      for (int t = 0; t < 64; t++) {
        assertEquals(t < tasks ? 1 : 0, runs.get(t), "task " + t + " of " + tasks);
      }
    }
    // The caller and worker 1 alone: the other six were neither woken nor waited for.
    assertTrue(Set.of(0, 1).containsAll(ranOn), "two-task jobs ran on " + ranOn);
  }

  @Test
  void stopEndsTheWorkersAndTheNextJobStartsNewOnes() throws Exception {
    WorkerPool pool = new WorkerPool(4);
    pool.run(16, (task, worker) -> { });
    List<Thread> before = workersOf(pool);
    assertEquals(3, before.size());
    pool.stop();
    for (Thread t : before) {
      assertFalse(t.isAlive(), t.getName() + " still runs after stop");
    }
    pool.stop(); // again: nothing to end
    for (int round = 0; round < 50; round++) {
      java.util.concurrent.atomic.AtomicIntegerArray runs =
          new java.util.concurrent.atomic.AtomicIntegerArray(16);
      Set<Integer> ranOn = ConcurrentHashMap.newKeySet();
      pool.run(16, (task, worker) -> {
        runs.incrementAndGet(task);
        ranOn.add(worker);
      });
      for (int t = 0; t < 16; t++) {
        assertEquals(1, runs.get(t), "round " + round + ", task " + t);
      }
      if (round % 10 == 9) {
        pool.stop(); // and started again by the next job
      }
    }
    pool.run(16, (task, worker) -> { }); // the last round stopped them: start them again
    List<Thread> after = workersOf(pool);
    assertEquals(3, after.size());
    for (Thread t : after) {
      assertFalse(before.contains(t), "a stopped worker came back: " + t.getName());
      assertTrue(t.isDaemon(), t.getName());
    }
  }

  @Test
  void jobsRunOnWhenTheTicketWrapsPastTheLargestLong() throws Exception {
    WorkerPool pool = new WorkerPool(3);
    java.lang.reflect.Field ticket = WorkerPool.class.getDeclaredField("ticket");
    ticket.setAccessible(true);
    // Two jobs before the sequence passes Long.MAX_VALUE; workers have seen none of these.
    ticket.setLong(pool, (Long.MAX_VALUE & ~0xffffL) - 0x10000L);
    org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(20),
        () -> {
          for (int job = 0; job < 6; job++) {
            java.util.concurrent.atomic.AtomicIntegerArray runs =
                new java.util.concurrent.atomic.AtomicIntegerArray(8);
            pool.run(8, (task, worker) -> runs.incrementAndGet(task));
            for (int t = 0; t < 8; t++) {
              assertEquals(1, runs.get(t), "job " + job + ", task " + t);
            }
          }
        });
    assertTrue(ticket.getLong(pool) < 0, "the ticket wrapped");
  }

  private static List<Thread> workersOf(WorkerPool pool) {
    return Thread.getAllStackTraces().keySet().stream().filter(pool::isWorker).toList();
  }
}
