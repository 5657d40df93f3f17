package io.mqa4j.bench.jmh;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.ContiguousKvCache;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvType;
import io.mqa4j.core.KvView;
import io.mqa4j.core.PagedKvCache;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
 * One decode step (one query token over {@code context} cached keys) per operation. The
 * {@code kvBytes} and {@code flops} counters are rates: bytes of K and V read per second (each
 * KV row once per step) and floating-point operations per second (an FMA counts two).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
@State(Scope.Benchmark)
public class DecodeBenchmark {

  @Param({"mha", "gqa", "mqa"})
  public String layout;

  @Param({"32"})
  public int queryHeads;

  @Param({"64", "128", "256"})
  public int headDim;

  @Param({"1024", "4096", "16384", "32768"})
  public int context;

  @Param({"simd"})
  public String kernel;

  /** 0 means every processor. */
  @Param({"0", "1"})
  public int threads;

  /** KV element type: f32, f16, bf16 or q8_0. */
  @Param({"f32", "f16", "bf16", "q8_0"})
  public String dtype;

  /**
   * {@code contiguous} (one f32 block, the reference path) or {@code paged} (a paged cache with
   * blocks of {@link #blockTokens}). Types other than f32 always use the paged cache.
   */
  @Param({"contiguous"})
  public String cache;

  @Param({"64"})
  public int blockTokens;

  /**
   * How the caller passes the query and output: {@code array} ({@code float[]}, on the heap) or
   * {@code segment} (off-heap {@code MemorySegment}s). The kernel should not care.
   */
  @Param({"array"})
  public String queries;

  private AttentionShape shape;
  private AttentionOptions options;
  private AttentionKernel attention;
  private AutoCloseable storage;
  private KvView view;
  private float[] q;
  private float[] out;
  private Arena arena;
  private MemorySegment qSegment;
  private MemorySegment outSegment;
  private boolean segmentQueries;

  /** Bytes and flops per step, for the rate counters. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  public static class Traffic {
    public long kvBytes;
    public long flops;
  }

  private long bytesPerStep;
  private long flopsPerStep;

  @Setup(Level.Trial)
  public void setUp() {
    shape = Workload.shape(layout, queryHeads, headDim);
    options = AttentionOptions.defaults();
    int workers = Workload.workers(threads);
    attention = Workload.kernel(kernel, workers);
    float[] k = Workload.random(context * shape.kvStride(), 1);
    float[] v = Workload.random(context * shape.kvStride(), 2);
    KvType type = KvType.parse(dtype);
    if (type == KvType.F32 && cache.equals("contiguous")) {
      ContiguousKvCache contiguous = new ContiguousKvCache(shape.kvHeads(), headDim, context);
      contiguous.append(context, k, 0, v, 0);
      storage = contiguous;
      view = contiguous;
    } else {
      PagedKvCache paged = PagedKvCache.builder(shape.kvHeads(), headDim).type(type)
          .blockTokens(blockTokens).capacityTokens(context).build();
      KvSequence sequence = paged.newSequence();
      paged.append(sequence, context, k, 0, v, 0);
      storage = paged;
      view = sequence;
    }
    q = Workload.random(shape.queryStride(), 3);
    out = new float[shape.queryStride()];
    bytesPerStep = 2L * context * view.tokenBytes();
    flopsPerStep = 4L * context * shape.queryHeads() * headDim;
    // Time nothing that does not compute the reference's answer.
    float[] expected = new float[shape.queryStride()];
    AttentionKernels.scalar().decode(shape, options, q, 0, view, expected, 0);
    attention.decode(shape, options, q, 0, view, out, 0);
    Workload.checkAgrees(expected, out, attention.description() + " " + shape);
    segmentQueries = switch (queries) {
      case "array" -> false;
      case "segment" -> true;
      default -> throw new IllegalArgumentException("queries must be array or segment, got " + queries);
    };
    arena = Arena.ofShared();
    qSegment = arena.allocate(4L * shape.queryStride(), 64);
    outSegment = arena.allocate(4L * shape.queryStride(), 64);
    MemorySegment.copy(q, 0, qSegment, ValueLayout.JAVA_FLOAT, 0, q.length);
    if (segmentQueries) {
      attention.decode(shape, options, qSegment, view, outSegment);
      Workload.checkAgrees(expected, outSegment.toArray(ValueLayout.JAVA_FLOAT),
          attention.description() + " " + shape + " (segments)");
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    storage.close();
    arena.close();
  }

  @Benchmark
  public Object decode(Traffic traffic) {
    traffic.kvBytes += bytesPerStep;
    traffic.flops += flopsPerStep;
    if (segmentQueries) {
      attention.decode(shape, options, qSegment, view, outSegment);
      return outSegment;
    }
    attention.decode(shape, options, q, 0, view, out, 0);
    return out;
  }
}
