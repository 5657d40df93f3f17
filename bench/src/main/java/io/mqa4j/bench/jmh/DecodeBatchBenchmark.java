package io.mqa4j.bench.jmh;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvType;
import io.mqa4j.core.KvView;
import io.mqa4j.core.PagedKvCache;
import java.util.Arrays;
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
 * One decode step of several sequences of a paged cache per operation: in one
 * {@code decodeBatch} ({@code call=batch}) or one {@code decode} per sequence
 * ({@code call=each}). Even lengths and uneven ones (a long sequence beside short ones) show
 * whether a batch shares its work among the threads as well as separate calls do. The
 * {@code kvBytes} counter is the rate of K and V bytes read.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
@State(Scope.Benchmark)
public class DecodeBatchBenchmark {

  @Param({"gqa", "mqa"})
  public String layout;

  @Param({"32"})
  public int queryHeads;

  @Param({"128"})
  public int headDim;

  /** The sequences' lengths, separated by '_' (JMH splits parameter values at commas). */
  @Param({"16384_16", "4096_4096_4096_4096", "16384_1024_256_16"})
  public String lengths;

  @Param({"batch", "each"})
  public String call;

  /** 0 means every processor. */
  @Param({"0"})
  public int threads;

  @Param({"f32"})
  public String dtype;

  @Param({"64"})
  public int blockTokens;

  private AttentionShape shape;
  private AttentionOptions options;
  private AttentionKernel attention;
  private PagedKvCache cache;
  private KvView[] sequences;
  private float[] q;
  private float[] out;
  private boolean batch;
  private long bytesPerStep;

  /** Bytes read per step, for the rate counter. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  public static class Traffic {
    public long kvBytes;
  }

  @Setup(Level.Trial)
  public void setUp() {
    shape = Workload.shape(layout, queryHeads, headDim);
    options = AttentionOptions.defaults();
    int workers = Workload.workers(threads);
    attention = AttentionKernels.simd(workers);
    batch = switch (call) {
      case "batch" -> true;
      case "each" -> false;
      default -> throw new IllegalArgumentException("call must be batch or each, got " + call);
    };
    int[] length = Arrays.stream(lengths.split("_")).mapToInt(Integer::parseInt).toArray();
    long tokens = 0;
    for (int n : length) {
      tokens += Math.ceilDiv(n, blockTokens) * (long) blockTokens;
    }
    cache = PagedKvCache.builder(shape.kvHeads(), headDim).type(KvType.parse(dtype))
        .blockTokens(blockTokens).capacityTokens(tokens).build();
    sequences = new KvView[length.length];
    for (int s = 0; s < length.length; s++) {
      KvSequence seq = cache.newSequence();
      cache.append(seq, length[s], Workload.random(length[s] * shape.kvStride(), 2 * s + 1), 0,
          Workload.random(length[s] * shape.kvStride(), 2 * s + 2), 0);
      sequences[s] = seq;
      bytesPerStep += 2L * length[s] * seq.tokenBytes();
    }
    q = Workload.random(length.length * shape.queryStride(), 99);
    out = new float[q.length];
    // Time nothing that does not compute the reference's answer, sequence by sequence.
    step();
    for (int s = 0; s < length.length; s++) {
      float[] expected = new float[shape.queryStride()];
      AttentionKernels.scalar().decode(shape, options, q, s * shape.queryStride(), sequences[s],
          expected, 0);
      Workload.checkAgrees(expected, Arrays.copyOfRange(out, s * shape.queryStride(),
          (s + 1) * shape.queryStride()), attention.description() + " " + shape + " sequence " + s);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    cache.close();
  }

  private void step() {
    if (batch) {
      attention.decodeBatch(shape, options, q, 0, sequences, out, 0);
    } else {
      for (int s = 0; s < sequences.length; s++) {
        attention.decode(shape, options, q, s * shape.queryStride(), sequences[s], out,
            s * shape.queryStride());
      }
    }
  }

  @Benchmark
  public Object decodeBatch(Traffic traffic) {
    traffic.kvBytes += bytesPerStep;
    step();
    return out;
  }
}
