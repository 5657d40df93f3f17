package io.mqa4j.bench.compare;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mqa4j.core.KvType;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reads and checks a compare run's {@code results.json} before anything is drawn or written.
 * Every problem is an {@link IllegalArgumentException} whose one-line message names where it is
 * ({@code row 2 of 6: context must be >= 1, got 0}); callers put the file name in front.
 */
public final class ReportInput {
  private ReportInput() {}

  private enum Kind { TEXT, INT, LONG, NUMBER, OPTIONAL_NUMBER, OPTIONAL_NUMBERS }

  /** The fields of a row as results.json stores them, in {@link Row}'s order. */
  private static final List<Field> ROW_FIELDS = List.of(
      new Field("phase", Kind.TEXT), new Field("layout", Kind.TEXT),
      new Field("queryHeads", Kind.INT), new Field("kvHeads", Kind.INT),
      new Field("headDim", Kind.INT), new Field("context", Kind.INT),
      new Field("kernel", Kind.TEXT), new Field("dtype", Kind.TEXT),
      new Field("threads", Kind.INT), new Field("microsPerStep", Kind.NUMBER),
      new Field("microsP10", Kind.NUMBER), new Field("microsP90", Kind.NUMBER),
      new Field("samples", Kind.INT), new Field("tokensPerSec", Kind.NUMBER),
      new Field("kvBytesPerToken", Kind.LONG), new Field("kvBytesReadPerStep", Kind.LONG),
      new Field("flopsPerStep", Kind.LONG), new Field("gbPerSec", Kind.NUMBER),
      new Field("gflopsPerSec", Kind.NUMBER), new Field("rooflineShare", Kind.OPTIONAL_NUMBER),
      new Field("speedupVsMha", Kind.OPTIONAL_NUMBER),
      new Field("roundMicros", Kind.OPTIONAL_NUMBERS));

  private static final Set<String> ROW_NAMES =
      ROW_FIELDS.stream().map(Field::name).collect(Collectors.toUnmodifiableSet());

  /** The list fields of the settings, which cannot be left out when the settings are given. */
  private static final List<String> SETTINGS_LISTS =
      List.of("phases", "decodeContexts", "prefillContexts", "layouts", "kernels", "dtypes");

  private record Field(String name, Kind kind) {}

  /** Whether {@code root} looks like a compare results file (an object with rows). */
  public static boolean isResults(JsonNode root) {
    return root != null && root.isObject() && root.has("rows");
  }

  /** The report {@code root} holds, every row checked; missing notes read as none. */
  public static CompareReport results(JsonNode root) {
    if (!isResults(root)) {
      throw new IllegalArgumentException("not a compare results file (an object with rows)");
    }
    ObjectNode copy = ((ObjectNode) root).deepCopy();
    JsonNode rows = copy.get("rows");
    if (rows.isNull()) {
      throw new IllegalArgumentException("rows is null: no decode or prefill results");
    }
    if (!rows.isArray()) {
      throw new IllegalArgumentException("rows must be an array of rows, got " + shorten(rows));
    }
    if (rows.isEmpty()) {
      throw new IllegalArgumentException("rows is empty: no decode or prefill results");
    }
    for (int i = 0; i < rows.size(); i++) {
      checkRowTree(rows.get(i), "row " + (i + 1) + " of " + rows.size() + ": ");
    }
    JsonNode notes = copy.get("notes");
    if (notes == null || notes.isNull()) {
      copy.set("notes", copy.arrayNode());
    } else if (!notes.isArray()) {
      throw new IllegalArgumentException("notes must be an array of strings, got " + shorten(notes));
    } else {
      for (int i = 0; i < notes.size(); i++) {
        if (!notes.get(i).isTextual()) {
          throw new IllegalArgumentException("notes[" + i + "] must be a string, got " + shorten(notes.get(i)));
        }
      }
    }
    for (String part : List.of("machine", "roofline", "settings")) {
      JsonNode node = copy.get(part);
      if (node != null && !node.isNull() && !node.isObject()) {
        throw new IllegalArgumentException(part + " must be an object, got " + shorten(node));
      }
    }
    JsonNode settings = copy.get("settings");
    if (settings != null && settings.isObject()) {
      for (String name : SETTINGS_LISTS) {
        JsonNode list = settings.get(name);
        if (list == null || list.isNull()) {
          throw new IllegalArgumentException("settings." + name + " is " + (list == null ? "missing" : "null"));
        }
        if (!list.isArray()) {
          throw new IllegalArgumentException("settings." + name + " must be an array, got " + shorten(list));
        }
        for (JsonNode element : list) {
          if (element.isNull()) {
            throw new IllegalArgumentException("settings." + name + " holds null");
          }
        }
      }
    }
    CompareReport report;
    try {
      report = ReportFiles.json().treeToValue(copy, CompareReport.class);
    } catch (JsonMappingException e) {
      String where = e.getPath().stream()
          .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
          .collect(Collectors.joining(".")).replace(".[", "[");
      throw new IllegalArgumentException((where.isEmpty() ? "" : where + ": ")
          + ReportFiles.jsonProblem(e.getOriginalMessage()));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(ReportFiles.jsonProblem(e.getOriginalMessage()));
    }
    checkRows(report.rows());
    RooflineFigures roofline = report.roofline();
    if (roofline != null) {
      positive("roofline: ", "readGBps", roofline.readGBps());
      positive("roofline: ", "fmaGflops", roofline.fmaGflops());
      positive("roofline: ", "readGBpsOneThread", roofline.readGBpsOneThread());
      positive("roofline: ", "fmaGflopsOneThread", roofline.fmaGflopsOneThread());
      atLeast("roofline: ", "threads", roofline.threads(), 1);
      // A Vector API species is 64 bits or a wider power of two.
      int bits = roofline.speciesBits();
      if (bits < 64 || Integer.bitCount(bits) != 1) {
        throw new IllegalArgumentException("roofline: speciesBits must be 64 or a wider power of "
            + "two, got " + bits);
      }
    }
    Machine machine = report.machine();
    if (machine != null) {
      for (String[] text : new String[][] {{"cpu", machine.cpu()}, {"os", machine.os()},
          {"java", machine.java()}, {"vm", machine.vm()}}) {
        if (text[1] == null) {
          throw new IllegalArgumentException("machine: " + text[0] + " is missing");
        }
      }
      atLeast("machine: ", "processors", machine.processors(), 1);
      atLeast("machine: ", "memoryBytes", machine.memoryBytes(), -1); // -1: not known
    }
    return report;
  }

  /** Presence and JSON types of one row's fields. */
  private static void checkRowTree(JsonNode row, String where) {
    if (!row.isObject()) {
      throw new IllegalArgumentException(where + "must be an object, got " + shorten(row));
    }
    for (String name : (Iterable<String>) row::fieldNames) {
      if (!ROW_NAMES.contains(name)) {
        throw new IllegalArgumentException(where + "unknown field '" + name + "'");
      }
    }
    for (Field f : ROW_FIELDS) {
      JsonNode v = row.get(f.name());
      boolean optional = f.kind() == Kind.OPTIONAL_NUMBER || f.kind() == Kind.OPTIONAL_NUMBERS;
      if (optional && (v == null || v.isNull())) {
        continue;
      }
      if (v == null) {
        throw new IllegalArgumentException(where + f.name() + " is missing");
      }
      if (v.isNull()) {
        throw new IllegalArgumentException(where + f.name() + " is null");
      }
      String problem = switch (f.kind()) {
        case TEXT -> v.isTextual() ? null : "must be a string";
        case INT -> v.isIntegralNumber() && v.canConvertToInt() ? null
            : v.isIntegralNumber() ? (v.bigIntegerValue().signum() < 0
                ? "must be at least " + Integer.MIN_VALUE : "must be at most " + Integer.MAX_VALUE)
            : v.isNumber() ? "must be a whole number" : "must be a number";
        case LONG -> v.isIntegralNumber() && v.canConvertToLong() ? null
            : v.isIntegralNumber() ? (v.bigIntegerValue().signum() < 0
                ? "must be at least " + Long.MIN_VALUE : "must be at most " + Long.MAX_VALUE)
            : v.isNumber() ? "must be a whole number" : "must be a number";
        case NUMBER, OPTIONAL_NUMBER -> v.isNumber() ? null : "must be a number";
        case OPTIONAL_NUMBERS -> v.isArray() && v.size() >= 2
            && java.util.stream.StreamSupport.stream(v.spliterator(), false).allMatch(JsonNode::isNumber)
            ? null : "must be an array of two or more numbers";
      };
      if (problem != null) {
        throw new IllegalArgumentException(where + f.name() + " " + problem + ", got " + shorten(v));
      }
    }
  }

  /**
   * Checks the values of {@code rows}: names the table and charts know, counts of at least one,
   * and positive finite times, rates and sizes (the charts are logarithmic).
   */
  public static void checkRows(List<Row> rows) {
    java.util.Map<List<Object>, Integer> seen = new java.util.HashMap<>();
    for (int i = 0; i < rows.size(); i++) {
      Row r = rows.get(i);
      String where = "row " + (i + 1) + " of " + rows.size() + ": ";
      checkRow(r, where);
      // Two timings of one case: the table and the MHA comparison would each keep only one.
      Integer first = seen.putIfAbsent(r.caseKey(), i + 1);
      if (first != null) {
        throw new IllegalArgumentException(where + "measures the same case as row " + first + " ("
            + r.phase() + " " + r.layout() + " " + r.kernel() + " " + r.dtype() + " at " + r.context()
            + " keys)");
      }
    }
  }

  private static void checkRow(Row r, String where) {
    oneOf(where, "phase", r.phase(), "decode or prefill", List.of("decode", "prefill"));
    oneOf(where, "layout", r.layout(), "mha, gqa or mqa", List.of("mha", "gqa", "mqa"));
    oneOf(where, "kernel", r.kernel(), "scalar or simd", List.of("scalar", "simd"));
    if (r.dtype() == null) {
      throw new IllegalArgumentException(where + "dtype is null");
    }
    KvType type;
    try {
      type = KvType.parse(r.dtype());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + "dtype: " + e.getMessage());
    }
    atLeast(where, "queryHeads", r.queryHeads(), 1);
    atLeast(where, "kvHeads", r.kvHeads(), 1);
    atLeast(where, "headDim", r.headDim(), 1);
    // The layout and the head counts must tell the same story, or the MHA comparison is false.
    boolean heads = switch (r.layout()) {
      case "mha" -> r.kvHeads() == r.queryHeads();
      case "mqa" -> r.kvHeads() == 1;
      default -> r.queryHeads() % r.kvHeads() == 0;
    };
    if (!heads) {
      throw new IllegalArgumentException(where + "kvHeads " + r.kvHeads() + " does not fit layout "
          + r.layout() + " with queryHeads " + r.queryHeads());
    }
    if (!type.supportsHeadDim(r.headDim())) {
      throw new IllegalArgumentException(where + "headDim " + r.headDim() + " cannot be stored as "
          + type.label());
    }
    atLeast(where, "context", r.context(), 1);
    atLeast(where, "threads", r.threads(), 1);
    atLeast(where, "samples", r.samples(), 0);
    atLeast(where, "kvBytesPerToken", r.kvBytesPerToken(), 1);
    atLeast(where, "kvBytesReadPerStep", r.kvBytesReadPerStep(), 1);
    atLeast(where, "flopsPerStep", r.flopsPerStep(), 1);
    positive(where, "microsPerStep", r.microsPerStep());
    positive(where, "microsP10", r.microsP10());
    positive(where, "microsP90", r.microsP90());
    if (!(r.microsP10() <= r.microsPerStep() && r.microsPerStep() <= r.microsP90())) {
      throw new IllegalArgumentException(where + "microsP10 " + r.microsP10() + ", microsPerStep "
          + r.microsPerStep() + " and microsP90 " + r.microsP90() + " must be in that order");
    }
    positive(where, "tokensPerSec", r.tokensPerSec());
    positive(where, "gbPerSec", r.gbPerSec());
    positive(where, "gflopsPerSec", r.gflopsPerSec());
    if (r.rooflineShare() != null) {
      positive(where, "rooflineShare", r.rooflineShare());
    }
    if (r.speedupVsMha() != null) {
      positive(where, "speedupVsMha", r.speedupVsMha());
    }
    if (r.roundMicros() != null) {
      for (double m : r.roundMicros()) {
        positive(where, "roundMicros", m);
      }
      // The row's figures are its median round's: a row that is none of its rounds was edited.
      if (!r.roundMicros().contains(r.microsPerStep())) {
        throw new IllegalArgumentException(where + "microsPerStep " + r.microsPerStep()
            + " must be one of roundMicros " + r.roundMicros());
      }
    }
  }

  private static void oneOf(String where, String field, String value, String expected, List<String> allowed) {
    if (value == null) {
      throw new IllegalArgumentException(where + field + " is null");
    }
    if (!allowed.contains(value)) {
      throw new IllegalArgumentException(where + field + " must be " + expected + ", got '" + value + "'");
    }
  }

  private static void atLeast(String where, String field, long value, long least) {
    if (value < least) {
      throw new IllegalArgumentException(where + field + " must be >= " + least + ", got " + value);
    }
  }

  private static void positive(String where, String field, double value) {
    if (!(value > 0) || Double.isInfinite(value)) {
      throw new IllegalArgumentException(where + field + " must be > 0"
          + (Double.isInfinite(value) ? " and finite" : "") + ", got " + value);
    }
  }

  /** A JSON value as a short one-line quote. */
  static String shorten(JsonNode node) {
    String text = node.toString();
    return text.length() > 60 ? text.substring(0, 57) + "..." : text;
  }
}
