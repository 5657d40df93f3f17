package io.mqa4j.bench.compare;

import java.util.List;

/**
 * Everything a compare run produced, as {@code results.json} and {@code --json} carry it.
 *
 * @param rows one per measured configuration
 * @param notes remarks on what was skipped or how to read the figures
 */
public record CompareReport(String tool, String createdAt, Machine machine, RooflineFigures roofline,
    CompareSettings settings, List<Row> rows, List<String> notes) {

  public CompareReport {
    rows = List.copyOf(rows);
    notes = List.copyOf(notes);
  }
}
