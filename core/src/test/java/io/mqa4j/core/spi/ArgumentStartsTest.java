package io.mqa4j.core.spi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvView;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * A kernel of its own, outside the library, that reads views as {@link KvView} lays them out
 * still gets K and V the caller passed at offsets right: only kernels that say they add the
 * starts get the whole arrays.
 */
class ArgumentStartsTest {

  private static final AttentionShape SHAPE = AttentionShape.gqa(4, 2, 5);
  private static final int KEYS = 3;
  private static final AttentionOptions OPTIONS = AttentionOptions.defaults();

  /** A kernel of a test's own, named by its class. */
  private abstract static class TestKernel extends AbstractAttentionKernel {
    @Override
    public String name() {
      return getClass().getSimpleName();
    }

    @Override
    public String description() {
      return name();
    }
  }

  /** Copies the view's rows from where {@link KvView} says they are, then runs the scalar kernel. */
  private static final class RowsByContract extends TestKernel {
    @Override
    protected void attend(AttentionShape shape, AttentionOptions options, int numQueries,
        MemorySegment q, long qOffset, KvView kv, MemorySegment out, long outOffset) {
      long bytes = kv.length() * kv.tokenBytes();
      MemorySegment k = MemorySegment.ofArray(new float[(int) (bytes / 4)]);
      MemorySegment v = MemorySegment.ofArray(new float[(int) (bytes / 4)]);
      k.copyFrom(kv.keyBlock(0).asSlice(0, bytes));
      v.copyFrom(kv.valueBlock(0).asSlice(0, bytes));
      long rows = (long) numQueries * shape.queryStride() * 4;
      AttentionKernels.scalar().prefill(shape, options, numQueries, q.asSlice(qOffset, rows),
          KvView.ofContiguous(shape.kvHeads(), shape.headDim(), kv.length(), k, v),
          out.asSlice(outOffset, rows));
    }
  }

  /** Passes the view it is given on to the scalar kernel, and says it adds the starts. */
  private static final class PassesTheViewOn extends TestKernel {
    @Override
    protected boolean readsArgumentStarts() {
      return true;
    }

    @Override
    protected void attend(AttentionShape shape, AttentionOptions options, int numQueries,
        MemorySegment q, long qOffset, KvView kv, MemorySegment out, long outOffset) {
      long rows = (long) numQueries * shape.queryStride() * 4;
      AttentionKernels.scalar().prefill(shape, options, numQueries, q.asSlice(qOffset, rows), kv,
          out.asSlice(outOffset, rows));
    }
  }

  @Test
  void kernelsOfTheirOwnReadKAndVAtTheCallersOffsets() {
    int floats = KEYS * SHAPE.kvStride();
    float[] k = new float[floats];
    float[] v = new float[floats];
    float[] q = new float[SHAPE.queryStride()];
    for (int i = 0; i < floats; i++) {
      k[i] = (i % 7) * 0.25f - 0.5f;
      v[i] = (i % 5) * 0.5f - 1f;
    }
    for (int i = 0; i < q.length; i++) {
      q[i] = (i % 3) * 0.5f - 0.25f;
    }
    float[] expected = new float[q.length];
    AttentionKernels.scalar().decode(SHAPE, OPTIONS, KEYS, q, 0, k, 0, v, 0, expected, 0);

    // K at offset 8 and V at 13 of arrays whose other elements would poison any result.
    float[] kPadded = poisoned(8 + floats + 4);
    float[] vPadded = poisoned(13 + floats + 4);
    System.arraycopy(k, 0, kPadded, 8, floats);
    System.arraycopy(v, 0, vPadded, 13, floats);
    for (AbstractAttentionKernel kernel : new AbstractAttentionKernel[] {
        new RowsByContract(), new PassesTheViewOn()}) {
      float[] out = new float[q.length];
      kernel.decode(SHAPE, OPTIONS, KEYS, q, 0, kPadded, 8, vPadded, 13, out, 0);
      assertArrayEquals(expected, out, kernel.name());
    }
    float[] out = new float[q.length];
    new PassesTheViewOn().prefill(SHAPE, OPTIONS, 1, KEYS, MemorySegment.ofArray(q),
        MemorySegment.ofArray(kPadded).asSlice(32), MemorySegment.ofArray(vPadded).asSlice(52),
        MemorySegment.ofArray(out));
    assertArrayEquals(expected, out, "segments");

    // Output, keys and values in one array, apart: the view passed on is checked where its keys
    // and values are, not from the array's start.
    int kAt = q.length + 8;
    int vAt = kAt + floats + 3;
    float[] shared = poisoned(vAt + floats);
    System.arraycopy(k, 0, shared, kAt, floats);
    System.arraycopy(v, 0, shared, vAt, floats);
    new PassesTheViewOn().decode(SHAPE, OPTIONS, KEYS, q, 0, shared, kAt, shared, vAt, shared, 0);
    assertArrayEquals(expected, Arrays.copyOf(shared, q.length), "one array");
  }

  private static float[] poisoned(int length) {
    float[] a = new float[length];
    Arrays.fill(a, Float.NaN);
    return a;
  }
}
