package io.mqa4j.bench.jmh;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.ContiguousKvCache;
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
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
@State(Scope.Benchmark)
public class DecodeBenchmark {

  @Param({"mha", "gqa", "mqa"})
  public String layout;

  @Param({"32"})
  public int queryHeads;

  @Param({"128"})
  public int headDim;

  @Param({"1024", "4096", "16384"})
  public int context;

  @Param({"simd"})
  public String kernel;

  /** 0 means every processor. */
  @Param({"0"})
  public int threads;

  private AttentionShape shape;
  private AttentionOptions options;
  private AttentionKernel attention;
  private ContiguousKvCache cache;
  private float[] q;
  private float[] out;

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
    int workers = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    attention = Workload.kernel(kernel, workers);
    cache = new ContiguousKvCache(shape.kvHeads(), headDim, context);
    float[] k = Workload.random(context * shape.kvStride(), 1);
    float[] v = Workload.random(context * shape.kvStride(), 2);
    cache.append(context, k, 0, v, 0);
    q = Workload.random(shape.queryStride(), 3);
    out = new float[shape.queryStride()];
    bytesPerStep = 2L * context * shape.kvStride() * Float.BYTES;
    flopsPerStep = 4L * context * shape.queryHeads() * headDim;
    // Time nothing that does not compute the reference's answer.
    float[] expected = new float[shape.queryStride()];
    AttentionKernels.scalar().decode(shape, options, q, 0, cache, expected, 0);
    attention.decode(shape, options, q, 0, cache, out, 0);
    Workload.checkAgrees(expected, out, attention.description() + " " + shape);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    cache.close();
  }

  @Benchmark
  public float[] decode(Traffic traffic) {
    attention.decode(shape, options, q, 0, cache, out, 0);
    traffic.kvBytes += bytesPerStep;
    traffic.flops += flopsPerStep;
    return out;
  }
}
