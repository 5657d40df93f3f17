package io.mqa4j.bench.compare;

import com.fasterxml.jackson.databind.JsonNode;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.KvType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Turns the JSON that JMH writes ({@code -rf json}) for {@code DecodeBenchmark} and
 * {@code PrefillBenchmark} into compare rows. Bytes and flops are derived from the parameters
 * with the same arithmetic as a compare run.
 */
public final class JmhResults {
  private JmhResults() {}

  /**
   * The rows of {@code results}. A problem is an {@link IllegalArgumentException} whose message
   * names the benchmark ({@code benchmark 3 (DecodeBenchmark.decode): ...}, counting from one);
   * callers put the file name in front.
   */
  public static List<Row> rows(JsonNode results) {
    return rows(results, Map.of());
  }

  /**
   * The rows of the benchmarks in {@code results} whose parameters have the values {@code only}
   * gives (names as JMH's {@code -p}, values compared ignoring case); a benchmark without one of
   * those parameters (prefill has no {@code cache}) is kept, as is a scalar one whatever its
   * {@code threads}. A parameter the rows do not show,
   * such as {@code cache} or {@code queries}, must then hold one value among the chosen
   * benchmarks of each case: two timings of one row that differ there are refused, naming the
   * parameter and its values, rather than reported as the same case measured twice. So are two
   * SIMD timings whose {@code threads} differ only as {@code 0} (every processor, which JMH does
   * not record) and this machine's processor count; two scalar timings that differ only in
   * {@code threads} are one, as the scalar kernel runs on one thread, and the first is kept.
   */
  public static List<Row> rows(JsonNode results, Map<String, String> only) {
    if (!results.isArray()) {
      throw new IllegalArgumentException("a JMH result file holds a JSON array");
    }
    List<Row> rows = new ArrayList<>();
    Map<List<Object>, Integer> seen = new HashMap<>();
    checkChoice(results, only);
    int chosenCount = 0;
    int index = 0;
    for (JsonNode result : results) {
      index++;
      String benchmark = result.path("benchmark").asText("");
      String phase = benchmark.contains("DecodeBenchmark") ? "decode"
          : benchmark.contains("PrefillBenchmark") ? "prefill" : null;
      if (phase == null) {
        continue; // not one of ours
      }
      JsonNode params = result.path("params");
      if (!chosen(params, only)) {
        continue;
      }
      chosenCount++;
      String where = "benchmark " + index + " (" + shortName(benchmark) + "): ";
      Row row;
      try {
        row = row(result, phase);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(where + e.getMessage(), e);
      }
      Integer first = seen.putIfAbsent(row.caseKey(), index);
      if (first != null) {
        JsonNode firstParams = results.get(first - 1).path("params");
        List<String> differ = differingParams(firstParams, params);
        List<String> hidden = new ArrayList<>(differ);
        hidden.removeAll(SHOWN);
        String one = "benchmarks " + first + " and " + index + " time one row (" + phase + " "
            + row.layout() + " " + row.kernel() + " " + row.dtype() + " at " + row.context()
            + " keys)";
        if (!hidden.isEmpty()) {
          List<String> named = new ArrayList<>();
          for (String name : hidden) {
            named.add("params." + name + " (" + orNone(paramText(firstParams, name)) + ", "
                + orNone(paramText(params, name)) + ")");
          }
          throw new IllegalArgumentException(one + " and differ in " + String.join(" and ", named)
              + ", which the table does not show: report one value at a time (mqa report "
              + "--param " + hidden.get(0) + "=VALUE)");
        }
        if (differ.equals(List.of("threads"))) {
          if (row.kernel().equals("scalar")) {
            continue; // the scalar kernel runs on one thread whatever threads says: keep the first
          }
          // threads=0 is every processor of the run, which JMH does not record: taken as this
          // machine's count it matches the other, and which to show is the user's to say.
          throw new IllegalArgumentException(one + ": threads=0 (every processor) and threads="
              + row.threads() + " are one thread count on this machine; report one of them "
              + "(mqa report --param threads=VALUE)");
        }
      }
      rows.add(row);
    }
    if (!only.isEmpty() && chosenCount == 0) {
      throw new IllegalArgumentException("no benchmark has " + only.entrySet().stream()
          .map(e -> "params." + e.getKey() + "=" + e.getValue())
          .collect(java.util.stream.Collectors.joining(" and ")) + " together");
    }
    return rows;
  }

  /** Refuses a parameter value of {@code only} that none of our benchmarks has. */
  private static void checkChoice(JsonNode results, Map<String, String> only) {
    for (Map.Entry<String, String> want : only.entrySet()) {
      Set<String> held = new TreeSet<>();
      for (JsonNode result : results) {
        String benchmark = result.path("benchmark").asText("");
        String value = paramText(result.path("params"), want.getKey());
        if (value != null && (benchmark.contains("DecodeBenchmark")
            || benchmark.contains("PrefillBenchmark"))) {
          held.add(value);
        }
      }
      if (held.stream().noneMatch(want.getValue()::equalsIgnoreCase)) {
        throw new IllegalArgumentException("no benchmark has params." + want.getKey() + "="
            + want.getValue() + "; " + (held.isEmpty() ? "none has that parameter"
                : "its values: " + String.join(", ", held)));
      }
    }
  }

  /** The parameters a row of the table shows, whose values make it the row it is. */
  private static final Set<String> SHOWN = Set.of("layout", "queryHeads", "headDim", "context",
      "tokens", "kernel", "dtype", "threads");

  /**
   * Whether a benchmark's {@code params} have the values {@code only} gives; a parameter the
   * benchmark does not have (prefill has no {@code cache}) does not count against it.
   */
  private static boolean chosen(JsonNode params, Map<String, String> only) {
    boolean scalar = "scalar".equalsIgnoreCase(paramText(params, "kernel"));
    for (Map.Entry<String, String> want : only.entrySet()) {
      String value = paramText(params, want.getKey());
      // The scalar kernel runs on one thread whatever threads says: a choice of threads is the
      // SIMD kernel's.
      boolean ignored = scalar && want.getKey().equals("threads");
      if (value != null && !ignored && !want.getValue().equalsIgnoreCase(value)) {
        return false;
      }
    }
    return true;
  }

  /** The names of the parameters whose values differ between {@code a} and {@code b}. */
  private static List<String> differingParams(JsonNode a, JsonNode b) {
    Set<String> names = new TreeSet<>();
    a.fieldNames().forEachRemaining(names::add);
    b.fieldNames().forEachRemaining(names::add);
    List<String> differ = new ArrayList<>();
    for (String name : names) {
      if (!Objects.equals(paramText(a, name), paramText(b, name))) {
        differ.add(name);
      }
    }
    return differ;
  }

  private static String orNone(String value) {
    return value == null ? "none" : value;
  }

  /** A parameter as text, or null when absent; JMH writes every value as a string. */
  private static String paramText(JsonNode params, String name) {
    JsonNode v = params.get(name);
    return v == null || v.isNull() || !v.isValueNode() ? null : v.asText().strip();
  }

  /**
   * Whether a row of {@link #rows} ran its SIMD kernel with {@code threads=0} (or no threads
   * parameter): every processor of the run, which the row shows as this machine's count.
   */
  public static boolean anyOnEveryProcessor(JsonNode results, Map<String, String> only) {
    for (JsonNode result : results) {
      String benchmark = result.path("benchmark").asText("");
      JsonNode params = result.path("params");
      if (chosen(params, only) && (benchmark.contains("DecodeBenchmark") || benchmark.contains("PrefillBenchmark"))
          && !textParam(params, "kernel", "simd").equals("scalar")
          && intParam(params, "threads", 0, 0) == 0) {
        return true;
      }
    }
    return false;
  }

  private static Row row(JsonNode result, String phase) {
    JsonNode params = result.path("params");
    String layout = textParam(params, "layout", "mha");
    if (!List.of("mha", "gqa", "mqa").contains(layout)) {
      throw new IllegalArgumentException("params.layout must be mha, gqa or mqa, got '" + layout + "'");
    }
    int queryHeads = intParam(params, "queryHeads", 32, 1);
    int headDim = intParam(params, "headDim", 128, 1);
    int context;
    if (params.has("context") || !params.has("tokens")) {
      context = intParam(params, "context", null, 1);
    } else {
      context = intParam(params, "tokens", null, 1);
    }
    String kernel = textParam(params, "kernel", "simd");
    if (!List.of("scalar", "simd").contains(kernel)) {
      throw new IllegalArgumentException("params.kernel must be scalar or simd, got '" + kernel + "'");
    }
    KvType type = KvType.parse(textParam(params, "dtype", "f32"));
    String dtype = type.label();
    int threads = intParam(params, "threads", 0, 0);
    if (threads == 0) {
      threads = AttentionKernels.processorThreads(); // 0 means every processor of the run
    }
    if (kernel.equals("scalar")) {
      threads = 1;
    }
    int kvHeads = switch (layout) {
      case "mha" -> queryHeads;
      case "gqa" -> Math.min(8, queryHeads);
      default -> 1;
    };
    JsonNode metric = result.path("primaryMetric");
    JsonNode scoreNode = metric.path("score");
    if (scoreNode.isMissingNode() || scoreNode.isNull()) {
      throw new IllegalArgumentException("primaryMetric.score is missing");
    }
    if (!scoreNode.isNumber()) {
      throw new IllegalArgumentException("primaryMetric.score must be a number, got " + scoreNode);
    }
    double score = scoreNode.asDouble();
    if (!(score > 0) || Double.isInfinite(score)) {
      throw new IllegalArgumentException("primaryMetric.score must be > 0, got " + score);
    }
    String unit = metric.path("scoreUnit").asText("us/op");
    // The median of the iterations, as compare reports, where there are any: JMH's score is their
    // mean, which one slow iteration on a busy machine can push past the 90th percentile.
    double[] raw = rawData(metric.path("rawData"), unit);
    double micros = raw.length == 0 ? toMicros(score, unit) : StepTimer.percentile(raw, 0.5);
    double p10 = raw.length == 0 ? micros : StepTimer.percentile(raw, 0.1);
    double p90 = raw.length == 0 ? micros : StepTimer.percentile(raw, 0.9);
    long tokenBytes = type.headBytes(headDim) * kvHeads;
    long pairs = phase.equals("decode") ? context : (long) context * (context + 1) / 2;
    long bytes;
    long flops;
    try {
      bytes = Math.multiplyExact(2L * context, tokenBytes);
      flops = Math.multiplyExact(Math.multiplyExact(4L * pairs, (long) queryHeads), (long) headDim);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("params context (or tokens) " + context + ", queryHeads "
          + queryHeads + " and headDim " + headDim + " make more bytes or flops a step than a "
          + "long holds");
    }
    double seconds = micros / 1e6;
    return new Row(phase, layout, queryHeads, kvHeads, headDim, context, kernel, dtype, threads,
        micros, p10, p90, raw.length, (phase.equals("decode") ? 1 : context) / seconds,
        2 * tokenBytes, bytes, flops, bytes / seconds / 1e9, flops / seconds / 1e9, null, null);
  }

  /** {@code DecodeBenchmark.decode} of {@code io.mqa4j.bench.jmh.DecodeBenchmark.decode}. */
  private static String shortName(String benchmark) {
    int method = benchmark.lastIndexOf('.');
    int type = method < 0 ? -1 : benchmark.lastIndexOf('.', method - 1);
    return benchmark.substring(type + 1);
  }

  private static String textParam(JsonNode params, String name, String fallback) {
    JsonNode v = params.get(name);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isValueNode()) {
      throw new IllegalArgumentException("params." + name + " must be a value, got " + ReportInput.shorten(v));
    }
    return v.asText().strip().toLowerCase(Locale.ROOT);
  }

  /** A whole-number parameter of at least {@code least}; {@code fallback} when absent (null: required). */
  private static int intParam(JsonNode params, String name, Integer fallback, int least) {
    JsonNode v = params.get(name);
    if (v == null || v.isNull()) {
      if (fallback == null) {
        throw new IllegalArgumentException("params." + name + " is missing");
      }
      return fallback;
    }
    String text = v.asText().strip();
    int value;
    try {
      value = Integer.parseInt(text);
    } catch (NumberFormatException e) {
      if (text.matches("[+-]?\\d+")) { // whole, but past an int
        throw new IllegalArgumentException("params." + name + (text.startsWith("-")
            ? " must be >= " + least : " must be at most " + Integer.MAX_VALUE) + ", got '" + text
            + "'");
      }
      throw new IllegalArgumentException("params." + name + " must be a whole number, got '" + text + "'");
    }
    if (value < least) {
      throw new IllegalArgumentException("params." + name + " must be >= " + least + ", got '" + text + "'");
    }
    return value;
  }

  private static double[] rawData(JsonNode raw, String unit) {
    List<Double> values = new ArrayList<>();
    for (JsonNode fork : raw) {
      for (JsonNode v : fork) {
        double value = v.asDouble();
        if (!v.isNumber() || !(value > 0) || Double.isInfinite(value)) {
          throw new IllegalArgumentException("primaryMetric.rawData must hold positive numbers, got " + v);
        }
        values.add(toMicros(value, unit));
      }
    }
    double[] a = values.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(a);
    return a;
  }

  /** Microseconds per operation from a time per operation or from operations per time. */
  private static double toMicros(double value, String unit) {
    double micros = switch (unit.toLowerCase(Locale.ROOT)) {
      case "ns/op" -> value / 1e3;
      case "us/op" -> value;
      case "ms/op" -> value * 1e3;
      case "s/op" -> value * 1e6;
      case "ops/ns" -> 1e-3 / value;
      case "ops/us" -> 1 / value;
      case "ops/ms" -> 1e3 / value;
      case "ops/s" -> 1e6 / value;
      case "ops/min" -> 6e7 / value;
      default -> throw new IllegalArgumentException("JMH score unit '" + unit
          + "' is neither a time per operation nor operations per time");
    };
    if (!(micros > 0) || Double.isInfinite(micros)) {
      throw new IllegalArgumentException("JMH score " + value + " " + unit + " is no time in microseconds");
    }
    return micros;
  }
}
