package io.mqa4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mqa4j.core.AttentionKernel;
import io.mqa4j.core.AttentionKernels;
import io.mqa4j.core.AttentionOptions;
import io.mqa4j.core.AttentionShape;
import io.mqa4j.core.ContiguousKvCache;
import io.mqa4j.core.KvSequence;
import io.mqa4j.core.KvType;
import io.mqa4j.core.KvView;
import io.mqa4j.core.PagedKvCache;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The example in README.md, verbatim in its body, so the README cannot drift from the API. */
class ReadmeExampleTest {

  @Test
  void readmeExampleRuns() {
    float[] result;
    // --- README example starts
    AttentionShape shape = AttentionShape.gqa(32, 8, 128);        // 32 query heads over 8 KV heads
    AttentionOptions options = AttentionOptions.defaults().withCausal(true);
    AttentionKernel kernel = AttentionKernels.best();             // SIMD if present, else scalar

    try (ContiguousKvCache cache = new ContiguousKvCache(8, 128, 4096)) {
      float[] k = new float[8 * 128], v = new float[8 * 128];    // one token's keys and values
      float[] q = new float[32 * 128], out = new float[32 * 128];
      cache.append(k, 0, v, 0);
      kernel.decode(shape, options, q, 0, cache, out, 0);        // one decode step over the cache
    // --- README example ends
      java.util.Arrays.fill(v, 0.5f);
      cache.append(k, 0, v, 0);
      kernel.decode(shape, options, q, 0, cache, out, 0);
      result = out;
    }
    // Two keys with equal logits: each output is the mean of their values, 0 and 0.5.
    for (float x : result) {
      assertEquals(0.25f, x, 1e-6f);
    }
  }

  @Test
  void readmeKvCacheExampleRuns() {
    long used;
    // --- README KV cache example starts
    AttentionShape shape = AttentionShape.gqa(32, 8, 128);
    AttentionKernel kernel = AttentionKernels.best();
    try (PagedKvCache cache = PagedKvCache.builder(8, 128).type(KvType.BF16).capacityTokens(65_536).build()) {
      int promptTokens = 100;
      float[] k = new float[promptTokens * 8 * 128], v = new float[promptTokens * 8 * 128];
      KvSequence prompt = cache.newSequence();
      cache.append(prompt, promptTokens, k, 0, v, 0);             // [tokens][8][128] floats each
      KvSequence beam = cache.fork(prompt);                        // shares every block
      float[] q = new float[32 * 128], out = new float[32 * 128];
      kernel.decode(shape, AttentionOptions.defaults(), q, 0, beam, out, 0);  // a sequence is a KvView
      MemorySegment qs = MemorySegment.ofArray(new float[2 * 32 * 128]);
      MemorySegment outs = MemorySegment.ofArray(new float[2 * 32 * 128]);
      kernel.decodeBatch(shape, AttentionOptions.defaults(), qs, new KvView[] {prompt, beam}, outs);
      AttentionOptions window = AttentionOptions.defaults().withSlidingWindow(64);
      KvSequence chat = cache.newSequence();
      for (int step = 0; step < 200; step++) {                     // one token a step
        cache.append(chat, k, 0, v, 0);
        cache.releaseBefore(chat, chat.length() - 64);             // frees what the window passed
        kernel.decode(shape, window, q, 0, chat, out, 0);
      }
      long bytes = cache.usedBytes();        // the prompt's 7 blocks and chat's 5: 768 KiB
    // --- README KV cache example ends
      used = bytes;
    }
    assertEquals(768 * 1024, used, "12 blocks x 16 tokens x 4 KiB per token");
  }

  @Test
  void readmeShowsTheCodeThisTestRuns() throws java.io.IOException {
    String source = java.nio.file.Files.readString(
        java.nio.file.Path.of("src/test/java/io/mqa4j/bench/ReadmeExampleTest.java"));
    String readme = java.nio.file.Files.readString(java.nio.file.Path.of("../README.md"));
    int second = readme.indexOf("```java", readme.indexOf("```java") + 3);
    assertShown(source, readme, "README example", readme.indexOf("```java"));
    assertShown(source, readme, "README KV cache example", second);
  }

  @Test
  void readmeFencesPairUp() throws java.io.IOException {
    // A stray fence turns the prose after it into code; every fence that opens a block must be
    // closed by a bare one before the next fence with a language opens.
    java.util.List<String> lines = java.nio.file.Files.readAllLines(java.nio.file.Path.of("../README.md"));
    boolean open = false;
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (!line.startsWith("```")) {
        continue;
      }
      if (open) {
        assertEquals("```", line, "README.md line " + (i + 1) + " must close the block before it");
      }
      open = !open;
    }
    org.junit.jupiter.api.Assertions.assertFalse(open, "README.md ends inside a code block");
  }

  /** The code between the test's markers named {@code marker} ends the README block at {@code at}. */
  private static void assertShown(String source, String readme, String marker, int at) {
    String snippet = source.substring(source.indexOf("// --- " + marker + " starts"),
        source.indexOf("// --- " + marker + " ends"));
    String block = readme.substring(at, readme.indexOf("```", at + 3));
    java.util.List<String> expected = codeLines(snippet);
    java.util.List<String> shown = codeLines(block);
    assertEquals(expected, shown.subList(shown.size() - expected.size(), shown.size()),
        "README.md's " + marker + " must match this test's code");
  }

  /** Non-blank code lines without indentation, markers or fences. */
  private static java.util.List<String> codeLines(String text) {
    return text.lines().map(String::strip)
        .filter(l -> !l.isEmpty() && !l.startsWith("// ---") && !l.startsWith("```")
            && !l.startsWith("import ") && !l.equals("}"))
        .toList();
  }
}
