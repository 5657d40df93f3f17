package io.mqa4j.core;

import java.lang.foreign.MemorySegment;

/**
 * Scaled dot-product attention for multi-head, grouped-query and multi-query layers.
 *
 * <p>Layouts, all float32 and row-major:
 * <ul>
 *   <li>queries {@code q} and outputs {@code out}: {@code [numQueries][queryHeads][headDim]};</li>
 *   <li>keys {@code k} and values {@code v}: {@code [numKeys][kvHeads][headDim]}.</li>
 * </ul>
 * Query head {@code h} attends over KV head {@code h / shape.groupSize()}. Masks, scale and the
 * other options are described in {@link AttentionOptions}. Array overloads take offsets in
 * floats; segment overloads read from byte 0 of each segment in native byte order. Keys and values
 * are read where they lie, never copied. Implementations are thread-safe: any thread may call
 * them at any time. The SIMD kernel of a thread count is one instance for the JVM, and its calls
 * run one at a time, each on its whole pool: threads calling it together queue, and their calls
 * cannot be interrupted (to serve many sequences at once, use {@link #decodeBatch}). {@code out}
 * must not overlap the inputs, and a read-only {@code out} segment is rejected before any work.
 */
public interface AttentionKernel {

  /** A short name: {@code scalar} or {@code simd}. */
  String name();

  /** A one-line description (implementation, vector width, threads). */
  String description();

  /** Attention of {@code numQueries} query tokens over {@code numKeys} key tokens (prefill). */
  void prefill(AttentionShape shape, AttentionOptions options, int numQueries, int numKeys,
      float[] q, int qOffset, float[] k, int kOffset, float[] v, int vOffset,
      float[] out, int outOffset);

  /** Attention of {@code numQueries} query tokens over {@code numKeys} key tokens (prefill). */
  void prefill(AttentionShape shape, AttentionOptions options, int numQueries, int numKeys,
      MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out);

  /** Attention of {@code numQueries} query tokens over a sequence's keys and values in {@code kv}. */
  void prefill(AttentionShape shape, AttentionOptions options, int numQueries,
      MemorySegment q, KvView kv, MemorySegment out);

  /**
   * Attention of {@code numQueries} query tokens over a sequence's keys and values in {@code kv},
   * queries and outputs as {@code [numQueries][queryHeads][headDim]} floats from the offsets.
   */
  void prefill(AttentionShape shape, AttentionOptions options, int numQueries, float[] q,
      int qOffset, KvView kv, float[] out, int outOffset);

  /** Attention of one query token over {@code numKeys} key tokens (decode). */
  void decode(AttentionShape shape, AttentionOptions options, int numKeys,
      float[] q, int qOffset, float[] k, int kOffset, float[] v, int vOffset,
      float[] out, int outOffset);

  /** Attention of one query token over {@code numKeys} key tokens (decode). */
  void decode(AttentionShape shape, AttentionOptions options, int numKeys, MemorySegment q,
      MemorySegment k, MemorySegment v, MemorySegment out);

  /** Attention of one query token over the sequence in {@code kv} (decode). */
  void decode(AttentionShape shape, AttentionOptions options, float[] q, int qOffset, KvView kv,
      float[] out, int outOffset);

  /** Attention of one query token over the sequence in {@code kv} (decode). */
  void decode(AttentionShape shape, AttentionOptions options, MemorySegment q, KvView kv,
      MemorySegment out);

  /**
   * One decode step for each of {@code sequences.length} sequences at once: sequence {@code i}
   * has its query at row {@code i} of {@code q} ({@code [sequences][queryHeads][headDim]}), its
   * keys and values in {@code sequences[i]} (lengths may differ), and its output at row {@code i}
   * of {@code out}. Kernels may run sequences, KV heads and key splits in parallel.
   */
  void decodeBatch(AttentionShape shape, AttentionOptions options, MemorySegment q,
      KvView[] sequences, MemorySegment out);

  /**
   * {@link #decodeBatch(AttentionShape, AttentionOptions, MemorySegment, KvView[], MemorySegment)}
   * with the queries and outputs in arrays, each {@code [sequences][queryHeads][headDim]} floats
   * from its offset.
   */
  void decodeBatch(AttentionShape shape, AttentionOptions options, float[] q, int qOffset,
      KvView[] sequences, float[] out, int outOffset);
}
