package io.mqa4j.bench.compare;

import java.util.ArrayList;
import java.util.List;

/** A table printed with aligned columns, as plain text or as Markdown. */
public final class TextTable {

  private final List<String> headers;
  private final boolean[] rightAligned;
  private final List<List<String>> rows = new ArrayList<>();

  /** Headers; a header starting with {@code >} marks a right-aligned (numeric) column. */
  public TextTable(String... headers) {
    this.headers = new ArrayList<>();
    this.rightAligned = new boolean[headers.length];
    for (int i = 0; i < headers.length; i++) {
      rightAligned[i] = headers[i].startsWith(">");
      this.headers.add(rightAligned[i] ? headers[i].substring(1) : headers[i]);
    }
  }

  public TextTable add(Object... cells) {
    if (cells.length != headers.size()) {
      throw new IllegalArgumentException("row has " + cells.length + " cells, table has "
          + headers.size() + " columns");
    }
    List<String> row = new ArrayList<>();
    for (Object cell : cells) {
      row.add(cell == null ? "-" : cell.toString());
    }
    rows.add(row);
    return this;
  }

  public boolean isEmpty() {
    return rows.isEmpty();
  }

  private int[] widths() {
    int[] widths = new int[headers.size()];
    for (int c = 0; c < widths.length; c++) {
      widths[c] = headers.get(c).length();
      for (List<String> row : rows) {
        widths[c] = Math.max(widths[c], row.get(c).length());
      }
    }
    return widths;
  }

  /** Plain text, columns separated by two spaces, a dashed rule under the header. */
  public String toText() {
    int[] widths = widths();
    StringBuilder s = new StringBuilder();
    line(s, headers, widths, "  ", "", "");
    List<String> rule = new ArrayList<>();
    for (int w : widths) {
      rule.add("-".repeat(w));
    }
    line(s, rule, widths, "  ", "", "");
    for (List<String> row : rows) {
      line(s, row, widths, "  ", "", "");
    }
    return s.toString();
  }

  /** A GitHub-flavoured Markdown table, padded so it also reads well as text. */
  public String toMarkdown() {
    int[] widths = widths();
    for (int c = 0; c < widths.length; c++) {
      widths[c] = Math.max(widths[c], 3);
    }
    StringBuilder s = new StringBuilder();
    line(s, headers, widths, " | ", "| ", " |");
    List<String> rule = new ArrayList<>();
    for (int c = 0; c < widths.length; c++) {
      rule.add(rightAligned[c] ? "-".repeat(widths[c] - 1) + ":" : "-".repeat(widths[c]));
    }
    line(s, rule, widths, " | ", "| ", " |");
    for (List<String> row : rows) {
      line(s, row, widths, " | ", "| ", " |");
    }
    return s.toString();
  }

  private void line(StringBuilder s, List<String> cells, int[] widths, String gap, String open,
      String close) {
    StringBuilder l = new StringBuilder(open);
    for (int c = 0; c < cells.size(); c++) {
      String cell = cells.get(c);
      String pad = " ".repeat(widths[c] - cell.length());
      l.append(c == 0 ? "" : gap).append(rightAligned[c] ? pad + cell : cell + pad);
    }
    l.append(close);
    s.append(l.toString().stripTrailing()).append('\n');
  }
}
