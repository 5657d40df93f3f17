package io.mqa4j.core;

/**
 * The head geometry of one attention layer: {@code queryHeads} query heads share {@code kvHeads}
 * key/value heads of {@code headDim} elements each. Query head {@code h} reads KV head
 * {@code h / groupSize()}.
 *
 * @param queryHeads number of query (and output) heads, positive
 * @param kvHeads number of key/value heads, positive and dividing {@code queryHeads}
 * @param headDim elements per head, positive; {@code queryHeads * headDim} must fit in an
 *     {@code int}, so that one token's queries, keys and values are each indexable by an array
 */
public record AttentionShape(int queryHeads, int kvHeads, int headDim) {

  /** The three attention layouts; MHA when every query head has its own KV head. */
  public enum Layout {
    /** Multi-head attention: one KV head per query head. */
    MHA,
    /** Grouped-query attention: each KV head serves a group of query heads. */
    GQA,
    /** Multi-query attention: one KV head serves every query head. */
    MQA
  }

  public AttentionShape {
    if (queryHeads <= 0) {
      throw new IllegalArgumentException("queryHeads must be positive, got " + queryHeads);
    }
    if (kvHeads <= 0) {
      throw new IllegalArgumentException("kvHeads must be positive, got " + kvHeads);
    }
    if (headDim <= 0) {
      throw new IllegalArgumentException("headDim must be positive, got " + headDim);
    }
    if (queryHeads % kvHeads != 0) {
      throw new IllegalArgumentException(
          "kvHeads (" + kvHeads + ") must divide queryHeads (" + queryHeads + ")");
    }
    // kvHeads divides queryHeads, so the KV stride is at most the query stride.
    if ((long) queryHeads * headDim > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("queryHeads * headDim must fit in an int, got queryHeads="
          + queryHeads + " * headDim=" + headDim + " = " + (long) queryHeads * headDim);
    }
  }

  /** Multi-head attention: {@code heads} query heads, each with its own KV head. */
  public static AttentionShape mha(int heads, int headDim) {
    return new AttentionShape(heads, heads, headDim);
  }

  /** Grouped-query attention: {@code queryHeads} query heads over {@code kvHeads} KV heads. */
  public static AttentionShape gqa(int queryHeads, int kvHeads, int headDim) {
    return new AttentionShape(queryHeads, kvHeads, headDim);
  }

  /** Multi-query attention: {@code queryHeads} query heads over a single KV head. */
  public static AttentionShape mqa(int queryHeads, int headDim) {
    return new AttentionShape(queryHeads, 1, headDim);
  }

  /** Query heads per KV head. */
  public int groupSize() {
    return queryHeads / kvHeads;
  }

  /** MHA when every query head has its own KV head, MQA when one KV head serves several, else GQA. */
  public Layout layout() {
    if (kvHeads == queryHeads) {
      return Layout.MHA;
    }
    return kvHeads == 1 ? Layout.MQA : Layout.GQA;
  }

  /** The KV head that query head {@code queryHead} reads. */
  public int kvHeadOf(int queryHead) {
    return queryHead / groupSize();
  }

  /** Floats in one token's queries or outputs: {@code queryHeads * headDim}. */
  public int queryStride() {
    return queryHeads * headDim;
  }

  /** Floats in one token's keys (or values): {@code kvHeads * headDim}. */
  public int kvStride() {
    return kvHeads * headDim;
  }

  @Override
  public String toString() {
    return layout() + "(queryHeads=" + queryHeads + ", kvHeads=" + kvHeads + ", headDim=" + headDim + ")";
  }
}
