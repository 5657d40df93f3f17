package io.mqa4j.core.testkit;

import io.mqa4j.core.KvType;
import io.mqa4j.core.KvView;
import java.lang.foreign.MemorySegment;

/**
 * A view of the caller's own that passes every question to another view: the kernels then treat
 * it as a view they do not know. Tests override one answer, or watch which threads ask.
 */
public class ForwardingKvView implements KvView {
  private final KvView target;

  public ForwardingKvView(KvView target) {
    this.target = target;
  }

  @Override
  public int kvHeads() {
    return target.kvHeads();
  }

  @Override
  public int headDim() {
    return target.headDim();
  }

  @Override
  public KvType type() {
    return target.type();
  }

  @Override
  public int length() {
    return target.length();
  }

  @Override
  public int blockTokens() {
    return target.blockTokens();
  }

  @Override
  public int firstKey() {
    return target.firstKey();
  }

  @Override
  public MemorySegment keyBlock(int block) {
    return target.keyBlock(block);
  }

  @Override
  public MemorySegment valueBlock(int block) {
    return target.valueBlock(block);
  }
}
