package io.mqa4j.bench.cli;

import picocli.CommandLine.Option;

/** The head counts and head size of the layouts a command measures, shared by its options. */
final class HeadOptions {

  @Option(names = "--query-heads", defaultValue = "32", paramLabel = "H",
      description = "Query heads. Default: ${DEFAULT-VALUE}.")
  int queryHeads;

  @Option(names = "--kv-heads", defaultValue = "8", paramLabel = "KV",
      description = "KV heads of the GQA layout. Default: ${DEFAULT-VALUE}.")
  int kvHeads;

  @Option(names = "--head-dim", defaultValue = "128", paramLabel = "D",
      description = "Elements per head. Default: ${DEFAULT-VALUE}.")
  int headDim;

  /** Checks the options; {@code --kv-heads} only when the GQA layout is measured. */
  void check(boolean gqa) {
    if (queryHeads < 1) {
      throw new BadInputException("--query-heads must be >= 1, got " + queryHeads);
    }
    if (headDim < 1) {
      throw new BadInputException("--head-dim must be >= 1, got " + headDim);
    }
    if ((long) queryHeads * headDim > Integer.MAX_VALUE) {
      throw new BadInputException("--query-heads " + queryHeads + " x --head-dim " + headDim
          + " is more floats per query than an array holds (" + Integer.MAX_VALUE + ")");
    }
    if (gqa && (kvHeads < 1 || queryHeads % kvHeads != 0)) {
      throw new BadInputException("--kv-heads must divide --query-heads=" + queryHeads + ", got " + kvHeads);
    }
  }
}
