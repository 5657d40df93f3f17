package io.mqa4j.core.spi;

import java.lang.foreign.MemorySegment;
import java.lang.ref.WeakReference;

/**
 * One thread's heap segments over the whole {@code float[]} arrays it passes to the kernels, so
 * that a decode step over the same arrays makes none anew, whatever offsets it passes with them
 * (the kernels take offsets into the segment; a slice at each offset would be new whenever the
 * offset moves).
 *
 * <p>Both the arrays and their segments are held weakly: the table never keeps a caller's array
 * alive (a segment holds its array, so it must not be held strongly either), and a segment the
 * collector clears between calls is made again on the next. The table is an open-addressing hash
 * on the array's identity; entries whose array is gone are reused, and it grows
 * to stay at most half full, up to {@link #MAX_SLOTS}, past which it starts over empty.
 */
final class ArraySegments {

  /** A model with 128 layers of separate K and V arrays fills 256 entries. */
  static final int MAX_SLOTS = 1 << 13;
  /** Small, since a thread (a virtual one, say) may make only a call or two. */
  static final int FIRST_SLOTS = 8;

  private Entry[] table = new Entry[FIRST_SLOTS];
  /** Slots that hold an entry, live or not. */
  private int filled;

  /** The segment over the whole of {@code array}. */
  MemorySegment of(float[] array) {
    int mask = table.length - 1;
    int stale = -1;
    int i = slot(array, mask);
    for (Entry e; (e = table[i]) != null; i = (i + 1) & mask) {
      float[] held = e.get();
      if (held == array) {
        MemorySegment segment = e.segment.get();
        if (segment == null) {
          segment = MemorySegment.ofArray(array);
          e.segment = new WeakReference<>(segment);
        }
        return segment;
      }
      if (held == null && stale < 0) {
        stale = i;
      }
    }
    // Not present: its probe chain ended at the empty slot i.
    MemorySegment segment = MemorySegment.ofArray(array);
    if (stale >= 0) {
      table[stale] = new Entry(array, segment);
      return segment;
    }
    if (2 * (filled + 1) > table.length) {
      rehash();
      insertInto(table, new Entry(array, segment));
    } else {
      table[i] = new Entry(array, segment);
    }
    filled++;
    return segment;
  }

  /** Slots in the table now, for tests. */
  int slots() {
    return table.length;
  }

  /**
   * Keeps the live entries only, in a table twice as large when they would fill more than a
   * quarter of this one; past {@link #MAX_SLOTS}, drops everything.
   */
  private void rehash() {
    Entry[] old = table;
    int live = 0;
    for (Entry e : old) {
      if (e != null && e.get() != null) {
        live++;
      }
    }
    int size = 4 * (live + 1) > old.length ? 2 * old.length : old.length;
    // The new table is allocated before anything changes: an OutOfMemoryError here must leave
    // the count of filled slots true, or the table could fill up and a probe never end.
    Entry[] next = new Entry[size > MAX_SLOTS ? FIRST_SLOTS : size];
    int kept = 0;
    if (size <= MAX_SLOTS) {
      for (Entry e : old) {
        if (e != null && e.get() != null) {
          insertInto(next, e);
          kept++;
        }
      }
    }
    table = next;
    filled = kept;
  }

  /** Puts {@code entry} in the first empty slot of its chain; {@code table} has one. */
  private static void insertInto(Entry[] table, Entry entry) {
    float[] array = entry.get();
    if (array == null) { // collected since it was counted: its slot simply stays empty
      return;
    }
    int mask = table.length - 1;
    int i = slot(array, mask);
    while (table[i] != null) {
      i = (i + 1) & mask;
    }
    table[i] = entry;
  }

  /** Identity hashes need not vary in their low bits: the finalizer spreads every bit there. */
  static int slot(float[] array, int mask) {
    int h = System.identityHashCode(array);
    h ^= h >>> 16;
    h *= 0x85EBCA6B;
    h ^= h >>> 13;
    h *= 0xC2B2AE35;
    h ^= h >>> 16;
    return h & mask;
  }

  /** An array, weakly, with its segment, weakly too. */
  private static final class Entry extends WeakReference<float[]> {
    WeakReference<MemorySegment> segment;

    Entry(float[] array, MemorySegment segment) {
      super(array);
      this.segment = new WeakReference<>(segment);
    }
  }
}
