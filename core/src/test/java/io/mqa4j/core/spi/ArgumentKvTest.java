package io.mqa4j.core.spi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvView;
import java.lang.foreign.MemorySegment;
import java.lang.ref.WeakReference;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The view the K/V overloads reuse per thread: emptied after each call, never shared by two. */
class ArgumentKvTest {

  private static final AttentionShape SHAPE = AttentionShape.gqa(4, 2, 16);
  private static final AttentionOptions OPTIONS = AttentionOptions.defaults();

  @Test
  void aKernelThatCallsAnotherInsideItsCallKeepsItsOwnView() {
    AbstractAttentionKernel scalar = (AbstractAttentionKernel) AttentionKernels.scalar();
    Random random = new Random(7);
    float[] q = values(random, SHAPE.queryStride());
    float[] k = values(random, 9 * SHAPE.kvStride());
    float[] v = values(random, 9 * SHAPE.kvStride());
    float[] innerK = values(random, 3 * SHAPE.kvStride());
    float[] innerV = values(random, 3 * SHAPE.kvStride());
    float[] expected = new float[SHAPE.queryStride()];
    scalar.decode(SHAPE, OPTIONS, 9, q, 0, k, 0, v, 0, expected, 0);
    float[] innerExpected = new float[SHAPE.queryStride()];
    scalar.decode(SHAPE, OPTIONS, 3, q, 0, innerK, 0, innerV, 0, innerExpected, 0);

    float[] innerOut = new float[SHAPE.queryStride()];
    AbstractAttentionKernel outer = new AbstractAttentionKernel() {
      @Override
      protected void attend(AttentionShape shape, AttentionOptions options, int numQueries,
          MemorySegment qs, long qOffset, KvView kv, MemorySegment out, long outOffset) {
        scalar.decode(shape, options, 3, q, 0, innerK, 0, innerV, 0, innerOut, 0);
        assertEquals(9, kv.length(), "the inner call changed the outer call's view");
        attendWith(scalar, shape, options, numQueries, qs, qOffset, kv, out, outOffset);
      }

      @Override
      public String name() {
        return "outer";
      }

      @Override
      public String description() {
        return "a kernel that calls another";
      }
    };
    float[] out = new float[SHAPE.queryStride()];
    outer.decode(SHAPE, OPTIONS, 9, q, 0, k, 0, v, 0, out, 0);
    assertArrayEquals(expected, out);
    assertArrayEquals(innerExpected, innerOut);
  }

  @Test
  void aViewKeptPastItsCallRefusesToLendBlocks() {
    KvView[] kept = new KvView[1];
    AbstractAttentionKernel keeper = new AbstractAttentionKernel() {
      @Override
      protected void attend(AttentionShape shape, AttentionOptions options, int numQueries,
          MemorySegment qs, long qOffset, KvView kv, MemorySegment out, long outOffset) {
        kept[0] = kv;
      }

      @Override
      public String name() {
        return "keeper";
      }

      @Override
      public String description() {
        return "a kernel that keeps its view";
      }
    };
    float[] k = new float[2 * SHAPE.kvStride()];
    keeper.decode(SHAPE, OPTIONS, 2, new float[SHAPE.queryStride()], 0, k, 0, k, 0,
        new float[SHAPE.queryStride()], 0);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> kept[0].keyBlock(0));
    assertTrue(e.getMessage().contains("one kernel call"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> kept[0].valueBlock(0));
  }

  @Test
  void afterACallTheKernelKeepsNoneOfTheCallersArraysReachable() throws InterruptedException {
    AttentionKernel scalar = AttentionKernels.scalar();
    WeakReference<float[]> keys = callAndDrop(scalar);
    for (int i = 0; i < 50 && keys.get() != null; i++) {
      System.gc();
      Thread.sleep(10);
    }
    assertNull(keys.get(), "the keys array is still reachable after the call");
  }

  private static WeakReference<float[]> callAndDrop(AttentionKernel kernel) {
    Random random = new Random(3);
    float[] q = values(random, SHAPE.queryStride());
    float[] k = values(random, 1_000 * SHAPE.kvStride());
    float[] v = values(random, 1_000 * SHAPE.kvStride());
    kernel.decode(SHAPE, OPTIONS, 1_000, q, 0, k, 0, v, 0, new float[SHAPE.queryStride()], 0);
    return new WeakReference<>(k);
  }

  private static float[] values(Random random, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = random.nextFloat() * 2 - 1;
    }
    return a;
  }
}
