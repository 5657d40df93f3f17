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
  void theSameArrayGetsTheSameSegmentOverItsWhole() {
    ArraySegments segments = new ArraySegments();
    float[] a = {1, 2, 3, 4, 5};
    MemorySegment whole = segments.of(a);
    assertSame(whole, segments.of(a));
    assertEquals(20, whole.byteSize());
    assertEquals(4f, whole.get(ValueLayout.JAVA_FLOAT, 12));
    assertNotSame(whole, segments.of(new float[5]), "another array of equal contents");
    assertEquals(0, segments.of(new float[0]).byteSize());
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
      first.add(segments.of(a));
    }
    for (int i = 0; i < arrays.size(); i++) {
      assertSame(first.get(i), segments.of(arrays.get(i)), "array " + i);
    }
    assertTrue(segments.slots() >= 2_000, "at most half full: " + segments.slots() + " slots");
  }

  @Test
  void eightyArraysSpreadOverTheTable() {
    // Spread at random, 80 arrays take about 69 of 256 home slots; a hash that kept the identity
    // hash's low bits alone would do as well only if those bits varied.
    Set<Integer> homes = new HashSet<>();
    for (int i = 0; i < 80; i++) {
      homes.add(ArraySegments.slot(new float[1], 255));
    }
    assertTrue(homes.size() >= 50, homes.size() + " home slots of 256 for 80 arrays");
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
      assertEquals((float) i, segments.of(a).get(ValueLayout.JAVA_FLOAT, 0));
      assertTrue(segments.slots() <= ArraySegments.MAX_SLOTS, segments.slots() + " slots");
      // Half of the largest table live, one more entry would need a larger one: it starts over.
      startedOver |= before == ArraySegments.MAX_SLOTS
          && segments.slots() == ArraySegments.FIRST_SLOTS;
    }
    assertTrue(startedOver, "the table never started over");
    for (int i = 0; i < arrays.size(); i += 97) {
      assertEquals((float) i, segments.of(arrays.get(i)).get(ValueLayout.JAVA_FLOAT, 0));
    }
  }

  @Test
  void theTableKeepsNoArrayAlive() throws InterruptedException {
    ArraySegments segments = new ArraySegments();
    float[] kept = new float[8];
    MemorySegment keptSegment = segments.of(kept);
    WeakReference<float[]> dropped = droppedAfterUse(segments);
    for (int i = 0; i < 50 && dropped.get() != null; i++) {
      System.gc();
      Thread.sleep(10);
    }
    assertNull(dropped.get(), "an array the caller dropped is still reachable");
    assertSame(keptSegment, segments.of(kept), "a live segment is still found");
    float[] next = new float[4]; // reuses the dropped array's entry or a free slot
    assertEquals(16, segments.of(next).byteSize());
  }

  private static WeakReference<float[]> droppedAfterUse(ArraySegments segments) {
    float[] array = new float[1 << 20];
    segments.of(array);
    return new WeakReference<>(array);
  }
}
