package io.mqa4j.bench.jmh;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvType;
import io.mqa4j.core.KvView;
import io.mqa4j.core.PagedKvCache;
import io.mqa4j.core.jfr.DecodeEvent;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import jdk.jfr.EventType;
import jdk.jfr.Recording;
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
 * What mqa4j's JFR events cost a kernel call. Each operation is one short call (few keys, so that
 * a cost per call is not lost in the reading of the keys), timed while no recording runs
 * ({@code recording=none}), while one runs with mqa4j's events disabled ({@code disabled}), and
 * while one records every call (threshold 0), with each event's stack trace ({@code enabled})
 * and without ({@code enabled-no-stack}). {@link #eventCheck} times alone
 * the one check a call makes when its event is not being recorded.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx2g"})
@State(Scope.Benchmark)
public class JfrEventBenchmark {

  private static final String[] EVENTS = {"mqa4j.Decode", "mqa4j.Prefill", "mqa4j.DecodeBatch"};

  /** {@code enabled} records each event's stack trace, as JFR does unless told not to. */
  @Param({"none", "disabled", "enabled", "enabled-no-stack"})
  public String recording;

  /** {@code decode} (contiguous arrays), {@code paged} (a cache's sequence) or {@code batch}. */
  @Param({"decode", "paged", "batch"})
  public String call;

  @Param({"mqa"})
  public String layout;

  @Param({"32"})
  public int queryHeads;

  @Param({"128"})
  public int headDim;

  @Param({"16"})
  public int keys;

  @Param({"simd"})
  public String kernel;

  /** One thread by default (0 means every processor): a hand-over to the pool adds its own cost. */
  @Param({"1"})
  public int threads;

  private AttentionShape shape;
  private AttentionOptions options;
  private AttentionKernel attention;
  private PagedKvCache cache;
  private KvView[] sequences;
  private float[] q;
  private float[] k;
  private float[] v;
  private float[] out;
  private Recording jfr;
  private EventType decodeEvents;

  @Setup(Level.Trial)
  public void setUp() {
    if (!call.equals("decode") && !call.equals("paged") && !call.equals("batch")) {
      throw new IllegalArgumentException("call must be decode, paged or batch, got '" + call + "'");
    }
    shape = Workload.shape(layout, queryHeads, headDim);
    options = AttentionOptions.defaults();
    attention = Workload.kernel(kernel, Workload.workers(threads));
    k = Workload.random(keys * shape.kvStride(), 1);
    v = Workload.random(keys * shape.kvStride(), 2);
    cache = PagedKvCache.builder(shape.kvHeads(), headDim).type(KvType.F32).blockTokens(16)
        .capacityTokens(2L * Math.ceilDiv(keys, 16) * 16).build();
    sequences = new KvView[2];
    for (int s = 0; s < sequences.length; s++) {
      KvSequence seq = cache.newSequence();
      cache.append(seq, keys, k, 0, v, 0);
      sequences[s] = seq;
    }
    q = Workload.random(sequences.length * shape.queryStride(), 3);
    out = new float[q.length];
    decodeEvents = EventType.getEventType(DecodeEvent.class);
    jfr = switch (recording) {
      case "none" -> null;
      case "disabled" -> start(false, false);
      case "enabled" -> start(true, true);
      case "enabled-no-stack" -> start(true, false);
      default -> throw new IllegalArgumentException("recording must be none, disabled, enabled"
          + " or enabled-no-stack, got '" + recording + "'");
    };
    float[] expected = new float[shape.queryStride()];
    AttentionKernels.scalar().decode(shape, options, keys, q, 0, k, 0, v, 0, expected, 0);
    run();
    Workload.checkAgrees(expected, Arrays.copyOf(out, expected.length),
        attention.description() + " " + shape + " " + call);
    if (decodeEvents.isEnabled() != recording.startsWith("enabled")) {
      throw new IllegalStateException("mqa4j.Decode enabled is " + decodeEvents.isEnabled()
          + " with recording=" + recording);
    }
  }

  private static Recording start(boolean record, boolean stackTraces) {
    Recording r = new Recording();
    for (String event : EVENTS) {
      if (record) {
        var settings = r.enable(event).withThreshold(Duration.ZERO);
        if (stackTraces) {
          settings.withStackTrace();
        } else {
          settings.withoutStackTrace();
        }
      } else {
        r.disable(event);
      }
    }
    // Every call commits an event when enabled: a bounded disk recording keeps memory flat.
    r.setToDisk(true);
    r.setMaxSize(64L << 20);
    r.start();
    return r;
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    if (jfr != null) {
      jfr.stop();
      jfr.close();
    }
    cache.close();
  }

  private void run() {
    switch (call) {
      case "decode" -> attention.decode(shape, options, keys, q, 0, k, 0, v, 0, out, 0);
      case "paged" -> attention.decode(shape, options, q, 0, sequences[0], out, 0);
      default -> attention.decodeBatch(shape, options, q, 0, sequences, out, 0);
    }
  }

  @Benchmark
  public Object kernelCall() {
    run();
    return out;
  }

  /** The check a call makes before anything else when its event is not being recorded. */
  @Benchmark
  public boolean eventCheck() {
    return decodeEvents.isEnabled();
  }
}
