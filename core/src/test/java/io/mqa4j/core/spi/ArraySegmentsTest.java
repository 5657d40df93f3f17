package io.mqa4j.core.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ArraySegmentsTest {

  @Test
  void theSameArrayAndOffsetGetTheSameSegmentFromTheOffsetToTheEnd() {
    ArraySegments segments = new ArraySegments();
    float[] a = {1, 2, 3, 4, 5};
    MemorySegment whole = segments.of(a, 0);
    MemorySegment tail = segments.of(a, 3);
    assertSame(whole, segments.of(a, 0));
    assertSame(tail, segments.of(a, 3));
    assertNotSame(whole, tail);
    assertEquals(20, whole.byteSize());
    assertEquals(8, tail.byteSize());
    assertEquals(4f, tail.get(ValueLayout.JAVA_FLOAT, 0));
    assertEquals(0, segments.of(a, 5).byteSize(), "an offset at the end gives an empty segment");
    assertNotSame(whole, segments.of(new float[5], 0), "another array of equal contents");
  }

  @Test
  void manyLiveArraysAllStayFoundAsTheTableGrows() {
    ArraySegments segments = new ArraySegments();
    List<float[]> arrays = new ArrayList<>();
    List<MemorySegment> first = new ArrayList<>();
    for (int i = 0; i < 1_000; i++) {
      float[] a = new float[1 + i % 7];
      a[0] = i;
      arrays.add(a);
      first.add(segments.of(a, i % 3 == 0 ? 0 : 1 % a.length));
    }
    for (int i = 0; i < arrays.size(); i++) {
      float[] a = arrays.get(i);
      assertSame(first.get(i), segments.of(a, i % 3 == 0 ? 0 : 1 % a.length), "array " + i);
    }
    assertTrue(segments.slots() >= 2_000, "at most half full: " + segments.slots() + " slots");
  }

  @Test
  void layersAtPowerOfTwoOffsetsOfOneArraySpreadOverTheTable() {
    // 40 layers of 4096 tokens x 8 heads x 128 floats in one K and one V array: offsets 2^22
    // apart, which differ only in high bits. Spread at random, 80 keys take about 69 of 256
    // home slots; a hash that leaves high bits high gives them a handful.
    float[] keys = new float[1];
    float[] values = new float[1];
    Set<Integer> homes = new HashSet<>();
    for (int layer = 0; layer < 40; layer++) {
      homes.add(ArraySegments.slot(keys, layer << 22, 255));
      homes.add(ArraySegments.slot(values, layer << 22, 255));
    }
    assertTrue(homes.size() >= 50, homes.size() + " home slots of 256 for 80 keys");
  }

  @Test
  void pastItsLargestSizeTheTableStartsOverAndStillAnswersRightly() {
    ArraySegments segments = new ArraySegments();
    List<float[]> arrays = new ArrayList<>();
    boolean startedOver = false;
    for (int i = 0; i < ArraySegments.MAX_SLOTS; i++) {
      float[] a = {i};
      arrays.add(a);
      int before = segments.slots();
      assertEquals((float) i, segments.of(a, 0).get(ValueLayout.JAVA_FLOAT, 0));
      assertTrue(segments.slots() <= ArraySegments.MAX_SLOTS, segments.slots() + " slots");
      // Half of the largest table live, one more entry would need a larger one: it starts over.
      startedOver |= before == ArraySegments.MAX_SLOTS
          && segments.slots() == ArraySegments.FIRST_SLOTS;
    }
    assertTrue(startedOver, "the table never started over");
    for (int i = 0; i < arrays.size(); i += 97) {
      assertEquals((float) i, segments.of(arrays.get(i), 0).get(ValueLayout.JAVA_FLOAT, 0));
    }
  }

  @Test
  void theTableKeepsNoArrayAlive() throws InterruptedException {
    ArraySegments segments = new ArraySegments();
    float[] kept = new float[8];
    MemorySegment keptSegment = segments.of(kept, 2);
    WeakReference<float[]> dropped = droppedAfterUse(segments);
    for (int i = 0; i < 50 && dropped.get() != null; i++) {
      System.gc();
      Thread.sleep(10);
    }
    assertNull(dropped.get(), "an array the caller dropped is still reachable");
    assertSame(keptSegment, segments.of(kept, 2), "a live segment is still found");
    float[] next = new float[4]; // reuses the dropped array's entry or a free slot
    assertEquals(16, segments.of(next, 0).byteSize());
  }

  private static WeakReference<float[]> droppedAfterUse(ArraySegments segments) {
    float[] array = new float[1 << 20];
    segments.of(array, 0);
    segments.of(array, 16);
    return new WeakReference<>(array);
  }
}
