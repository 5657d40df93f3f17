package io.mqa4j.bench.compare;

import com.fasterxml.jackson.databind.JsonNode;
import io.mqa4j.core.KvType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Turns the JSON that JMH writes ({@code -rf json}) for {@code DecodeBenchmark} and
 * {@code PrefillBenchmark} into compare rows. Bytes and flops are derived from the parameters
 * with the same arithmetic as a compare run.
 */
public final class JmhResults {
  private JmhResults() {}

  public static List<Row> rows(JsonNode results) {
    if (!results.isArray()) {
      throw new IllegalArgumentException("a JMH result file holds a JSON array");
    }
    List<Row> rows = new ArrayList<>();
    for (JsonNode result : results) {
      String benchmark = result.path("benchmark").asText("");
      String phase = benchmark.contains("DecodeBenchmark") ? "decode"
          : benchmark.contains("PrefillBenchmark") ? "prefill" : null;
      if (phase == null) {
        continue; // not one of ours
      }
      JsonNode params = result.path("params");
      String layout = params.path("layout").asText("mha");
      int queryHeads = params.path("queryHeads").asInt(32);
      int headDim = params.path("headDim").asInt(128);
      int context = params.path("context").asInt(params.path("tokens").asInt());
      String kernel = params.path("kernel").asText("simd");
      String dtype = params.path("dtype").asText("f32");
      int threads = params.path("threads").asInt(0);
      if (threads == 0) {
        threads = Runtime.getRuntime().availableProcessors(); // 0 means every processor of the run
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
      double micros = toMicros(metric.path("score").asDouble(), metric.path("scoreUnit").asText("us/op"));
      double[] raw = rawData(metric.path("rawData"), metric.path("scoreUnit").asText("us/op"));
      double p10 = raw.length == 0 ? micros : StepTimer.percentile(raw, 0.1);
      double p90 = raw.length == 0 ? micros : StepTimer.percentile(raw, 0.9);
      long tokenBytes = KvType.parse(dtype).headBytes(headDim) * kvHeads;
      long bytes = 2L * context * tokenBytes;
      long pairs = phase.equals("decode") ? context : (long) context * (context + 1) / 2;
      long flops = 4L * pairs * queryHeads * headDim;
      double seconds = micros / 1e6;
      rows.add(new Row(phase, layout, queryHeads, kvHeads, headDim, context, kernel, dtype, threads,
          micros, p10, p90, raw.length, (phase.equals("decode") ? 1 : context) / seconds,
          2 * tokenBytes, bytes, flops, bytes / seconds / 1e9, flops / seconds / 1e9, null, null));
    }
    return rows;
  }

  private static double[] rawData(JsonNode raw, String unit) {
    List<Double> values = new ArrayList<>();
    for (JsonNode fork : raw) {
      for (JsonNode v : fork) {
        values.add(toMicros(v.asDouble(), unit));
      }
    }
    double[] a = values.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(a);
    return a;
  }

  /** Microseconds per operation from a time per operation or from operations per time. */
  private static double toMicros(double value, String unit) {
    return switch (unit.toLowerCase(Locale.ROOT)) {
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
  }
}
