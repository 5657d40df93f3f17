package io.mqa4j.core.testkit;

import io.mqa4j.core.KvView;
import java.lang.foreign.MemorySegment;

/** Reads what a KV view holds back into floats, for oracles and shadow models. */
public final class KvContents {
  private KvContents() {}

  /**
   * The keys (or values) of {@code view} as stored, dequantised: {@code [length][kvHeads][headDim]};
   * tokens before {@link KvView#firstKey()}, released, read as 0.
   */
  public static float[] dequantised(KvView view, boolean keys) {
    int d = view.headDim();
    float[] out = new float[view.length() * view.kvHeads() * d];
    long headBytes = view.type().headBytes(d);
    for (int t = view.firstKey(); t < view.length(); t++) {
      int block = t / view.blockTokens();
      MemorySegment segment = keys ? view.keyBlock(block) : view.valueBlock(block);
      for (int h = 0; h < view.kvHeads(); h++) {
        long at = (t % view.blockTokens()) * view.tokenBytes() + h * headBytes;
        view.type().decode(segment, at, d, out, (t * view.kvHeads() + h) * d);
      }
    }
    return out;
  }
}
