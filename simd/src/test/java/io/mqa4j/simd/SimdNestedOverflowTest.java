package io.mqa4j.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvType;
import io.mqa4j.core.KvView;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Field;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;

/**
 * A view that calls the SIMD kernel back from inside its call, at every depth near the end of a
 * small stack: each nested call is refused or overflows, and an overflow in a nested call must
 * not end the outer one (release its lock, clear its job), which would let later nested calls
 * run inside it and the outer call fail on its cleared state.
 */
class SimdNestedOverflowTest {

  private static final AttentionShape SHAPE = AttentionShape.gqa(4, 2, 8);
  private static AttentionKernel kernel;
  private static ReentrantLock lock;
  private static final AtomicInteger overflowsInNested = new AtomicInteger();
  private static final AtomicInteger lockLost = new AtomicInteger();
  private static final AtomicInteger nestedRan = new AtomicInteger();
  private static volatile boolean probing;

  private static void nested() {
    kernel.decode(SHAPE, AttentionOptions.defaults(), new float[SHAPE.queryStride()], 0,
        KvView.ofContiguous(2, 8, 1, MemorySegment.ofArray(new float[16]),
            MemorySegment.ofArray(new float[16])),
        new float[SHAPE.queryStride()], 0);
  }

  private static void descend() {
    try {
      descend();
    } catch (StackOverflowError deeper) {
      // the end of the stack: nested calls start from here, one at each depth on the way back
    }
    boolean held = lock.isHeldByCurrentThread();
    try {
      nested();
      nestedRan.incrementAndGet();
    } catch (IllegalStateException refused) {
      // as it should be
    } catch (StackOverflowError e) {
      overflowsInNested.incrementAndGet();
      if (held && !lock.isHeldByCurrentThread()) {
        lockLost.incrementAndGet();
      }
    }
  }

  @Test
  void anOverflowInANestedCallLeavesTheOuterCallItsLock() throws Exception {
    kernel = AttentionKernels.simd(1); // the whole call on the caller's thread
    Field lockField = PanamaAttentionKernel.class.getDeclaredField("lock");
    lockField.setAccessible(true);
    lock = (ReentrantLock) lockField.get(kernel);
    nested(); // once outside any call, so its code is loaded and linked
    MemorySegment block = MemorySegment.ofArray(new float[64 * 16]);
    KvView callsBack = new KvView() {
      @Override
      public int kvHeads() {
        return 2;
      }

      @Override
      public int headDim() {
        return 8;
      }

      @Override
      public KvType type() {
        return KvType.F32;
      }

      @Override
      public int length() {
        return 64;
      }

      @Override
      public int blockTokens() {
        return 64;
      }

      @Override
      public MemorySegment valueBlock(int b) {
        return block;
      }

      @Override
      public MemorySegment keyBlock(int b) {
        if (lock.isHeldByCurrentThread() && !probing) { // inside the call
          probing = true;
          try {
            descend();
          } finally {
            probing = false;
          }
        }
        return block;
      }
    };
    AtomicReference<Throwable> outer = new AtomicReference<>();
    Thread deep = new Thread(null, () -> {
      try {
        kernel.decode(SHAPE, AttentionOptions.defaults(), new float[SHAPE.queryStride()], 0,
            callsBack, new float[SHAPE.queryStride()], 0);
      } catch (Throwable e) {
        outer.set(e);
      }
    }, "deep", 512 * 1024);
    deep.start();
    deep.join(120_000);
    assertFalse(deep.isAlive(), "the outer call ended");
    assertTrue(overflowsInNested.get() > 0, "no nested call overflowed: the test tested nothing");
    assertEquals(0, lockLost.get(), "a nested call's overflow released the outer call's lock");
    assertEquals(0, nestedRan.get(), "a nested call ran inside the outer one");
    assertNull(outer.get(), "the outer call failed");
    assertFalse(lock.isLocked(), "the lock was left held");
  }
}
