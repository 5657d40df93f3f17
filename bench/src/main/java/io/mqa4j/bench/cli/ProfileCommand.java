package io.mqa4j.bench.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** KV-cache memory of real model configurations. */
@Command(name = "profile", mixinStandardHelpOptions = true,
    description = "KV-cache memory of a model configuration (coming with the paged KV cache).",
    footer = {"", "Example:", "  ./mqa profile --model llama-3-8b --context 8192"})
final class ProfileCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new BadInputException("profile is not available yet");
  }
}
