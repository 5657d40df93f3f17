package io.mqa4j.bench.compare;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvType;
import io.mqa4j.core.KvView;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Runs the measurements of {@code mqa compare}: every layout, element type, phase, kernel and
 * context of the settings, one {@link Row} each. Before timing a layout and type it checks that
 * the SIMD kernel agrees with the scalar reference, so nothing wrong is ever timed.
 */
public final class CompareRun {

  /** Told about each configuration as it starts and ends (a progress bar, a log). */
  public interface Listener {
    void started(String label);

    void finished();
  }

  /** One configuration to time. */
  public record Case(String layout, String dtype, String phase, String kernel, int context) {
    String label() {
      return phase + " " + layout + " " + kernel + " " + dtype + " " + context;
    }
  }

  private final CompareSettings settings;

  public CompareRun(CompareSettings settings) {
    this.settings = settings;
  }

  /** The configurations the settings ask for, in the order they run. */
  public List<Case> plan() {
    List<Case> cases = new ArrayList<>();
    for (String layout : settings.layouts()) {
      for (String dtype : settings.dtypes()) {
        for (String phase : settings.phases()) {
          for (String kernel : settings.kernels()) {
            List<Integer> contexts = phase.equals("decode")
                ? settings.decodeContexts() : settings.prefillContexts();
            for (int context : contexts) {
              if (phase.equals("prefill") && kernel.equals("scalar")
                  && context > settings.maxScalarPrefill()) {
                continue;
              }
              cases.add(new Case(layout, dtype, phase, kernel, context));
            }
          }
        }
      }
    }
    return cases;
  }

  /** Runs every planned case; rows come back with roofline shares and MHA speed-ups filled in. */
  public List<Row> run(RooflineFigures roofline, Listener listener) throws Exception {
    return complete(measure(listener), roofline);
  }

  /** Runs every planned case once; rows come back without shares or speed-ups. */
  public List<Row> measure(Listener listener) throws Exception {
    List<Case> cases = plan();
    AttentionKernel simd = settings.kernels().contains("simd")
        ? AttentionKernels.simd(settings.threads()) : null;
    AttentionKernel scalar = AttentionKernels.scalar();
    List<Row> rows = new ArrayList<>();
    int i = 0;
    while (i < cases.size()) {
      Case first = cases.get(i);
      AttentionShape shape = new AttentionShape(settings.queryHeads(),
          settings.kvHeadsOf(first.layout()), settings.headDim());
      KvType type = KvType.parse(first.dtype());
      int longest = 0;
      int j = i;
      for (; j < cases.size() && cases.get(j).layout().equals(first.layout())
          && cases.get(j).dtype().equals(first.dtype()); j++) {
        longest = Math.max(longest, cases.get(j).context());
      }
      try (KvSource kv = KvSource.random(shape.kvHeads(), shape.headDim(), type, settings.blockTokens(), longest, 42);
          Arena arena = Arena.ofShared()) {
        int longestPrefill = 1;
        for (int c = i; c < j; c++) {
          if (cases.get(c).phase().equals("prefill")) {
            longestPrefill = Math.max(longestPrefill, cases.get(c).context());
          }
        }
        MemorySegment q = randomSegment(arena, (long) longestPrefill * shape.queryStride(), 7);
        MemorySegment out = arena.allocate((long) longestPrefill * shape.queryStride() * Float.BYTES, 64);
        if (simd != null) {
          checkAgreement(shape, kv.view(Math.min(longest, 512)), q, simd, scalar);
          // Every layout and type runs vector code of its own: its first rows would otherwise
          // time the JIT compiling it (under --quick, MQA f32 after bf16 timed 15 ms a step
          // against 0.15 ms compiled).
          warmUp(shape, kv.view(Math.min(longest, 1024)), q, out, simd);
        }
        for (int c = i; c < j; c++) {
          Case one = cases.get(c);
          listener.started(one.label());
          AttentionKernel kernel = one.kernel().equals("simd") ? simd : scalar;
          rows.add(measure(one, shape, type, kernel, kv.view(one.context()), q, out));
          listener.finished();
        }
      }
      i = j;
    }
    return rows;
  }

  /**
   * One row per case from several rounds that each timed every case: the round whose median
   * step is the median of the rounds' (the faster of the middle two for an even count), with
   * every round's median attached. On a shared machine a slow spell of a few seconds spoils one
   * round's rows, not the median; rounds that ran the cases in turn spread such a spell over
   * different layouts. Rows keep the first round's order.
   */
  public static List<Row> medianOfRounds(List<List<Row>> rounds) {
    if (rounds.isEmpty()) {
      throw new IllegalArgumentException("rounds must hold at least one round");
    }
    if (rounds.size() == 1) {
      return rounds.get(0);
    }
    Map<List<Object>, List<Row>> byCase = new java.util.LinkedHashMap<>();
    for (Row r : rounds.get(0)) {
      byCase.put(r.caseKey(), new ArrayList<>(List.of(r)));
    }
    for (List<Row> round : rounds.subList(1, rounds.size())) {
      if (round.size() != byCase.size()) {
        throw new IllegalArgumentException("every round must time the same cases: one has "
            + round.size() + " rows, the first " + byCase.size());
      }
      for (Row r : round) {
        List<Row> timings = byCase.get(r.caseKey());
        if (timings == null) {
          throw new IllegalArgumentException("every round must time the same cases: "
              + r.caseKey() + " is not in the first");
        }
        timings.add(r);
      }
    }
    List<Row> merged = new ArrayList<>();
    for (List<Row> timings : byCase.values()) {
      if (timings.size() != rounds.size()) {
        throw new IllegalArgumentException("every round must time the same cases: "
            + timings.get(0).caseKey() + " was timed " + timings.size() + " times in "
            + rounds.size() + " rounds");
      }
      List<Double> micros = timings.stream().map(Row::microsPerStep).toList();
      List<Row> sorted = new ArrayList<>(timings);
      sorted.sort(java.util.Comparator.comparingDouble(Row::microsPerStep));
      merged.add(sorted.get((sorted.size() - 1) / 2).withRounds(micros));
    }
    return merged;
  }

  /** A row whose slowest round took this much longer than its fastest is named in a note. */
  public static final double UNSTEADY = 1.15;

  /** Notes naming the rows whose rounds disagree by more than {@link #UNSTEADY}. */
  public static List<String> unsteadyNotes(List<Row> rows) {
    List<String> notes = new ArrayList<>();
    for (Row r : rows) {
      if (r.roundMicros() == null) {
        continue;
      }
      double fastest = Collections.min(r.roundMicros());
      double slowest = Collections.max(r.roundMicros());
      if (slowest > UNSTEADY * fastest) {
        List<String> each = new ArrayList<>();
        for (double m : r.roundMicros()) {
          each.add(Sizes.micros(m));
        }
        notes.add("unsteady: " + r.phase() + " " + r.layout() + " " + r.kernel() + " " + r.dtype()
            + " " + r.context() + " took " + String.join(", ", each) + " in its rounds ("
            + String.format(Locale.ROOT, "%.2f", slowest / fastest) + "x apart)");
      }
    }
    return notes;
  }

  private Row measure(Case c, AttentionShape shape, KvType type, AttentionKernel kernel,
      KvView view, MemorySegment q, MemorySegment out) {
    AttentionOptions options = AttentionOptions.defaults();
    boolean decode = c.phase().equals("decode");
    int queries = decode ? 1 : c.context();
    AttentionOptions used = decode ? options : options.withCausal(true);
    Runnable step = () -> kernel.prefill(shape, used, queries, q, view, out);
    StepTimer.Timing t = StepTimer.time(step, settings.budget());
    int threads = kernel.name().equals("scalar") ? 1 : settings.threads();
    long tokenBytes = type.headBytes(shape.headDim()) * shape.kvHeads();
    long bytesRead = 2L * c.context() * tokenBytes;
    long pairs = decode ? c.context() : (long) c.context() * (c.context() + 1) / 2;
    long flops = 4L * pairs * shape.queryHeads() * shape.headDim();
    double seconds = t.median() / 1e6;
    double tokensPerSec = (decode ? 1 : c.context()) / seconds;
    return new Row(c.phase(), c.layout(), shape.queryHeads(), shape.kvHeads(), shape.headDim(),
        c.context(), kernel.name(), c.dtype(), threads, t.median(), t.p10(), t.p90(), t.samples(),
        tokensPerSec, 2 * tokenBytes, bytesRead, flops, bytesRead / seconds / 1e9,
        flops / seconds / 1e9, null, null);
  }

  /** Fills in each row's share of the roofline and its speed-up over the matching MHA row. */
  public static List<Row> complete(List<Row> rows, RooflineFigures roofline) {
    Map<String, Row> mha = new HashMap<>();
    for (Row r : rows) {
      if (r.layout().equals("mha")) {
        mha.put(r.peerKey(), r);
      }
    }
    List<Row> done = new ArrayList<>();
    for (Row r : rows) {
      Double share = null;
      if (roofline != null) {
        boolean one = r.threads() == 1;
        double bandwidth = (one ? roofline.readGBpsOneThread() : roofline.readGBps()) * 1e9;
        double peak = (one ? roofline.fmaGflopsOneThread() : roofline.fmaGflops()) * 1e9;
        double attainable = Math.max(r.kvBytesReadPerStep() / bandwidth, r.flopsPerStep() / peak);
        share = attainable / (r.microsPerStep() / 1e6);
      }
      Row base = mha.get(r.peerKey());
      Double speedup = base == null ? null : base.microsPerStep() / r.microsPerStep();
      done.add(r.with(share, speedup));
    }
    return Collections.unmodifiableList(done);
  }

  private void warmUp(AttentionShape shape, KvView view, MemorySegment q, MemorySegment out,
      AttentionKernel simd) {
    AttentionOptions causal = AttentionOptions.defaults().withCausal(true);
    long rows = q.byteSize() / (4L * shape.queryStride());
    int queries = (int) Math.max(1, Math.min(Math.min(64, view.length()), rows));
    StepTimer.warmUp(() -> {
      simd.prefill(shape, AttentionOptions.defaults(), 1, q, view, out);
      simd.prefill(shape, causal, queries, q, view, out);
    }, Math.max(3 * settings.budget().warmupNanos(), MIN_GROUP_WARMUP_NANOS),
        StepTimer.QUIET_NANOS, settings.budget().maxWarmupNanos());
  }

  /**
   * The least warm-up of each layout and type's vector code, however short the budget. It waits
   * the full quarter second for a quiet JIT even under --quick, whose rows wait a tenth: this is
   * where C2 compiles the type's vector loops, which takes hundreds of milliseconds, and a quick
   * row timed in the code before it measured 39 ms a step against 0.3 ms.
   */
  private static final long MIN_GROUP_WARMUP_NANOS = 300_000_000L;

  /** Fails when the SIMD kernel strays from the scalar reference on this layout and type. */
  private static void checkAgreement(AttentionShape shape, KvView view, MemorySegment q,
      AttentionKernel simd, AttentionKernel scalar) {
    long bytes = (long) shape.queryStride() * Float.BYTES;
    MemorySegment q1 = q.asSlice(0, bytes);
    float[] expected;
    float[] actual;
    // Native segments, as in the timed rows: feeding the scalar kernel heap segments here once
    // would leave the JIT's profile of its loops mixed, and every later scalar row slower.
    try (Arena arena = Arena.ofShared()) {
      MemorySegment e = arena.allocate(bytes, 64);
      MemorySegment a = arena.allocate(bytes, 64);
      scalar.decode(shape, AttentionOptions.defaults(), q1, view, e);
      simd.decode(shape, AttentionOptions.defaults(), q1, view, a);
      expected = e.toArray(ValueLayout.JAVA_FLOAT);
      actual = a.toArray(ValueLayout.JAVA_FLOAT);
    }
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
    }
    if (!(worst <= 1e-4)) {
      throw new IllegalStateException("simd and scalar kernels disagree by " + worst + " on " + shape
          + " over " + view.type().label() + " KV; refusing to time a wrong kernel");
    }
  }

  private static MemorySegment randomSegment(Arena arena, long floats, long seed) {
    MemorySegment s = arena.allocate(floats * Float.BYTES, 64);
    SplittableRandom random = new SplittableRandom(seed);
    for (long i = 0; i < floats; i++) {
      s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (random.nextDouble() * 2 - 1));
    }
    return s;
  }
}
