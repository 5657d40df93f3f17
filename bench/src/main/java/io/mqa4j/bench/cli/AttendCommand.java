package io.mqa4j.bench.cli;

import io.mqa4j.bench.npy.Npy;
import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.KvType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Runs one attention call on tensors from {@code .npy} files and writes the output as one. */
@Command(name = "attend", mixinStandardHelpOptions = true, versionProvider = Mqa.Version.class,
    description = {"Runs a kernel on NumPy tensors: q [nq, H, d], k and v [nk, KV, d] "
        + "(float32, float16 or float64, C order), and writes o [nq, H, d] as float32.",
        "Queries sit at the end of the keys (query i is at position nk - nq + i), as in prefill."},
    footer = {"", "Example:",
        // Lines under 80 columns, so picocli does not break a line of the command itself.
        "  python3 -c \"import numpy as np; r = np.random.default_rng(0)",
        "for n, s in (('q', (4, 32, 128)), ('k', (64, 8, 128)), ('v', (64, 8, 128))):",
        "    np.save(n, r.standard_normal(s, dtype=np.float32))\"",
        "  ./mqa attend --q q.npy --k k.npy --v v.npy --out o.npy --causal --kernel simd"})
final class AttendCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(AttendCommand.class);

  @Spec
  CommandSpec spec;

  @Option(names = "--q", required = true, paramLabel = "FILE", description = "Queries [nq, H, d].")
  Path q;

  @Option(names = "--k", required = true, paramLabel = "FILE", description = "Keys [nk, KV, d].")
  Path k;

  @Option(names = "--v", required = true, paramLabel = "FILE", description = "Values [nk, KV, d].")
  Path v;

  @Option(names = "--out", required = true, paramLabel = "FILE",
      description = "Output [nq, H, d], float32; written only when the call succeeds.")
  Path out;

  @Option(names = "--kernel", defaultValue = "best", paramLabel = "KERNEL",
      description = "scalar, simd or best (simd when available). Default: ${DEFAULT-VALUE}.")
  String kernel;

  @Option(names = "--threads", paramLabel = "N",
      description = "Threads for the simd kernel. Default: every processor.")
  Integer threads;

  @Option(names = "--causal", description = "Causal mask, bottom-right aligned.")
  boolean causal;

  @Option(names = "--window", paramLabel = "W", description = "Sliding window of W keys (implies causal).")
  Integer window;

  @Option(names = "--softcap", paramLabel = "C", description = "Soft-cap logits: C * tanh(s / C).")
  Float softCap;

  @Option(names = "--scale", paramLabel = "S", description = "Logit scale. Default: 1/sqrt(d).")
  Float scale;

  @Option(names = "--alibi", description = "ALiBi with the standard slopes for H heads.")
  boolean alibi;

  @Option(names = "--sinks", paramLabel = "FILE", description = "Attention-sink logits [H].")
  Path sinks;

  @Option(names = "--cache", defaultValue = "none", paramLabel = "TYPE",
      description = "Route K and V through a KV cache first: none, f32, f16, bf16 or q8_0. "
          + "Default: ${DEFAULT-VALUE}.")
  String cache;

  @Override
  public Integer call() throws IOException {
    if (kernel.strip().equalsIgnoreCase("scalar")) {
      GivenOptions.refuse(spec, "--threads", "with --kernel scalar: it runs on one thread");
    }
    AttentionKernel attention = Kernels.byName(kernel, threads);
    LOG.info("kernel: {}", attention.description());
    String cacheType = cache.strip().toLowerCase(java.util.Locale.ROOT);
    KvType kvType = cacheType.equals("none") ? null : Kernels.kvType("--cache", cacheType, "none");
    checkOutput();

    Npy.Array qa = read("--q", q);
    Npy.Array ka = read("--k", k);
    Npy.Array va = read("--v", v);
    requireRank("--q", q, qa, 3, "[nq, H, d]");
    requireRank("--k", k, ka, 3, "[nk, KV, d]");
    requireRank("--v", v, va, 3, "[nk, KV, d]");
    int numQueries = qa.shape()[0];
    int queryHeads = qa.shape()[1];
    int headDim = qa.shape()[2];
    int numKeys = ka.shape()[0];
    int kvHeads = ka.shape()[1];
    if (!java.util.Arrays.equals(ka.shape(), va.shape())) {
      throw new BadInputException("--k " + ka.shapeText() + " and --v " + va.shapeText()
          + " must have the same shape");
    }
    if (ka.shape()[2] != headDim) {
      throw new BadInputException("head dims disagree: --q " + qa.shapeText() + " has d=" + headDim
          + " but --k " + ka.shapeText() + " has d=" + ka.shape()[2]);
    }
    if (numQueries == 0 || queryHeads == 0 || headDim == 0 || kvHeads == 0) {
      throw new BadInputException("--q " + qa.shapeText() + " and --k " + ka.shapeText()
          + " need at least one query, head and element (keys may be 0)");
    }
    if (queryHeads % kvHeads != 0) {
      throw new BadInputException("kvHeads=" + kvHeads + " (from --k " + ka.shapeText()
          + ") must divide queryHeads=" + queryHeads + " (from --q " + qa.shapeText() + ")");
    }
    AttentionShape shape = new AttentionShape(queryHeads, kvHeads, headDim);
    AttentionOptions options = options(shape);

    float[] o = new float[numQueries * queryHeads * headDim];
    long start = System.nanoTime();
    if (kvType == null) {
      attention.prefill(shape, options, numQueries, numKeys, qa.data(), 0, ka.data(), 0,
          va.data(), 0, o, 0);
    } else {
      try (CachedKv kv = CachedKv.of(kvType, shape, numKeys, ka.data(), va.data())) {
        attention.prefill(shape, options, numQueries, MemorySegment.ofArray(qa.data()), kv.view(),
            MemorySegment.ofArray(o));
      }
    }
    LOG.info("{} over {}, {} over {} of {}, K and V {}: {} ms "
        + "(one cold call: the JIT has not compiled the kernel yet)",
        Words.count(numQueries, "query", "queries"), Words.count(numKeys, "key"),
        Words.count(queryHeads, "query head"), Words.count(kvHeads, "KV head"), headDim,
        kvType == null ? "f32 arrays" : "through a " + kvType.label() + " paged cache",
        String.format(java.util.Locale.ROOT, "%.2f", (System.nanoTime() - start) / 1e6));
    try {
      Npy.write(out, new int[] {numQueries, queryHeads, headDim}, o);
    } catch (IOException e) {
      throw new BadInputException("--out " + out + ": " + e.getMessage());
    }
    return 0;
  }

  /** Reads an input array; its errors name the option as well as the file. */
  private static Npy.Array read(String option, Path file) throws IOException {
    try {
      return Npy.read(file);
    } catch (IOException e) {
      throw new BadInputException(option + " " + e.getMessage());
    }
  }

  private AttentionOptions options(AttentionShape shape) throws IOException {
    AttentionOptions options = AttentionOptions.defaults().withCausal(causal);
    if (scale != null && !(Float.isFinite(scale) && scale > 0)) {
      throw new BadInputException("--scale must be finite and > 0 as a float, got " + given("--scale", scale));
    }
    if (window != null && window < 1) {
      throw new BadInputException("--window must be >= 1, got " + window);
    }
    if (softCap != null && !(Float.isFinite(softCap) && softCap > 0)) {
      throw new BadInputException("--softcap must be finite and > 0 as a float, got " + given("--softcap", softCap));
    }
    if (scale != null) {
      options = options.withScale(scale);
    }
    if (window != null) {
      options = options.withSlidingWindow(window);
    }
    if (softCap != null) {
      options = options.withSoftCap(softCap);
    }
    if (alibi) {
      options = options.withAlibi();
    }
    if (sinks != null) {
      Npy.Array s = read("--sinks", sinks);
      if (s.rank() != 1 || s.shape()[0] != shape.queryHeads()) {
        throw new BadInputException("--sinks " + sinks + " has shape " + s.shapeText()
            + " but needs [H] = (" + shape.queryHeads() + ",)");
      }
      try {
        options = options.withSinks(s.data());
      } catch (IllegalArgumentException e) {
        throw new BadInputException("--sinks " + sinks + ": " + e.getMessage());
      }
    }
    options.checkAgainst(shape);
    return options;
  }

  /** The value as typed, with what it became as a float when that differs (1e-50 is 0.0). */
  private String given(String option, Float parsed) {
    var matched = spec.commandLine().getParseResult().matchedOption(option);
    String typed = matched == null || matched.originalStringValues().isEmpty() ? String.valueOf(parsed)
        : matched.originalStringValues().getLast();
    return typed.equals(String.valueOf(parsed)) ? typed : typed + " (" + parsed + ")";
  }

  private static void requireRank(String option, Path file, Npy.Array a, int rank, String layout) {
    if (a.rank() != rank) {
      throw new BadInputException(option + " " + file + " has shape " + a.shapeText() + " (rank "
          + a.rank() + ") but must be " + layout);
    }
  }

  /** Fails before any work when the output cannot be written where asked. */
  private void checkOutput() {
    if (out.toString().isBlank()) { // the empty path is the working directory
      throw new BadInputException("--out must name a file, got '" + out + "'");
    }
    Path parent = out.toAbsolutePath().getParent();
    if (parent == null || !Files.isDirectory(parent)) {
      throw new BadInputException("--out " + out + ": " + (parent != null && Files.exists(parent)
          ? parent + " is not a directory" : "directory " + parent + " does not exist"));
    }
    if (Files.isDirectory(out)) {
      throw new BadInputException("--out " + out + " is a directory");
    }
    if (Files.exists(out) && !Files.isRegularFile(out)) {
      throw new BadInputException("--out " + out + " exists and is not a regular file");
    }
    if (!Files.isWritable(parent)) {
      throw new BadInputException("--out " + out + ": directory " + parent + " is not writable");
    }
  }
}
