package io.mqa4j.bench.jmh;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvType;
import io.mqa4j.core.PagedKvCache;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One causal prefill of {@code context} prompt tokens per operation. The {@code flops} counter is a rate
 * of the useful floating-point operations (the visible half of the score matrix; an FMA is two).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
@State(Scope.Benchmark)
public class PrefillBenchmark {

  @Param({"mha", "gqa", "mqa"})
  public String layout;

  @Param({"32"})
  public int queryHeads;

  @Param({"64", "128", "256"})
  public int headDim;

  /** Prompt tokens, all attended causally. */
  @Param({"512", "2048"})
  public int context;

  @Param({"simd"})
  public String kernel;

  /** 0 means every processor. */
  @Param({"0", "1"})
  public int threads;

  /** KV element type; f32 reads arrays, the others a paged cache with blocks of 64 tokens. */
  @Param({"f32"})
  public String dtype;

  private AttentionShape shape;
  private AttentionOptions options;
  private AttentionKernel attention;
  private float[] q;
  private float[] k;
  private float[] v;
  private float[] out;
  private long flopsPerCall;
  private PagedKvCache paged;
  private KvSequence sequence;

  /** Flops per call, as a rate counter. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  public static class Work {
    public long flops;
  }

  @Setup(Level.Trial)
  public void setUp() {
    shape = Workload.shape(layout, queryHeads, headDim);
    options = AttentionOptions.defaults().withCausal(true);
    int workers = Workload.workers(threads);
    attention = Workload.kernel(kernel, workers);
    q = Workload.random(context * shape.queryStride(), 1);
    k = Workload.random(context * shape.kvStride(), 2);
    v = Workload.random(context * shape.kvStride(), 3);
    out = new float[context * shape.queryStride()];
    if (!dtype.equals("f32")) {
      paged = PagedKvCache.builder(shape.kvHeads(), headDim).type(KvType.parse(dtype)).blockTokens(64)
          .capacityTokens(context).build();
      sequence = paged.newSequence();
      paged.append(sequence, context, k, 0, v, 0);
    }
    flopsPerCall = 4L * headDim * shape.queryHeads() * ((long) context * (context + 1) / 2);
    // Check against the reference on a prefix small enough for the scalar kernel to be quick.
    int n = Math.min(context, 256);
    float[] expected = new float[n * shape.queryStride()];
    float[] actual = new float[n * shape.queryStride()];
    if (sequence == null) {
      AttentionKernels.scalar().prefill(shape, options, n, n, q, 0, k, 0, v, 0, expected, 0);
      attention.prefill(shape, options, n, n, q, 0, k, 0, v, 0, actual, 0);
    } else { // the path timed: queries as segments over a paged cache of the same type
      try (PagedKvCache small = PagedKvCache.builder(shape.kvHeads(), headDim)
          .type(KvType.parse(dtype)).blockTokens(64).capacityTokens(n).build()) {
        KvSequence prefix = small.newSequence();
        small.append(prefix, n, k, 0, v, 0);
        MemorySegment qs = MemorySegment.ofArray(q).asSlice(0, (long) n * shape.queryStride() * 4);
        AttentionKernels.scalar().prefill(shape, options, n, qs, prefix,
            MemorySegment.ofArray(expected));
        attention.prefill(shape, options, n, qs, prefix, MemorySegment.ofArray(actual));
      }
    }
    Workload.checkAgrees(expected, actual, attention.description() + " " + shape + " " + dtype);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    if (paged != null) {
      paged.close();
    }
  }

  @Benchmark
  public float[] causalPrefill(Work work) {
    if (sequence == null) {
      attention.prefill(shape, options, context, context, q, 0, k, 0, v, 0, out, 0);
    } else {
      attention.prefill(shape, options, context, MemorySegment.ofArray(q), sequence,
          MemorySegment.ofArray(out));
    }
    work.flops += flopsPerCall;
    return out;
  }
}
