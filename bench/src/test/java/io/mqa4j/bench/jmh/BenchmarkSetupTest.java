package io.mqa4j.bench.jmh;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Each benchmark's set-up checks, against the scalar kernel, the very path it then times. */
class BenchmarkSetupTest {

  @ParameterizedTest
  @ValueSource(strings = {"f32", "f16", "bf16", "q8_0"})
  void prefillChecksThePathItTimesForEveryType(String dtype) {
    PrefillBenchmark b = new PrefillBenchmark();
    b.layout = "gqa";
    b.queryHeads = 8;
    b.headDim = 64;
    b.context = 300; // past the 256-token prefix the check runs on
    b.kernel = "simd";
    b.threads = 2;
    b.dtype = dtype;
    b.setUp();
    try {
      PrefillBenchmark.Work work = new PrefillBenchmark.Work();
      b.causalPrefill(work);
      assertEquals(4L * 64 * 8 * (300L * 301 / 2), work.flops);
    } finally {
      b.tearDown();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"batch", "each"})
  void decodeBatchChecksEverySequenceAndCountsItsBytes(String call) {
    DecodeBatchBenchmark b = new DecodeBatchBenchmark();
    b.layout = "mqa";
    b.queryHeads = 8;
    b.headDim = 64;
    b.lengths = "700_3_64";
    b.call = call;
    b.threads = 2;
    b.dtype = "f32";
    b.blockTokens = 16;
    b.setUp();
    try {
      DecodeBatchBenchmark.Traffic traffic = new DecodeBatchBenchmark.Traffic();
      b.decodeBatch(traffic);
      // K and V of 767 tokens, one KV head of 64 floats.
      assertEquals(2L * 767 * 64 * 4, traffic.kvBytes);
    } finally {
      b.tearDown();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"none", "disabled", "enabled", "enabled-no-stack"})
  void jfrEventsAreInTheStateEachRecordingAsksFor(String recording) {
    for (String call : new String[] {"decode", "paged", "batch"}) {
      JfrEventBenchmark b = new JfrEventBenchmark();
      b.recording = recording;
      b.call = call;
      b.layout = "mqa";
      b.queryHeads = 8;
      b.headDim = 64;
      b.keys = 16;
      b.kernel = "simd";
      b.threads = 1;
      b.setUp(); // checks the kernel's answer and that mqa4j.Decode is on exactly when asked
      try {
        b.kernelCall();
        assertEquals(recording.startsWith("enabled"), b.eventCheck(), recording + " " + call);
      } finally {
        b.tearDown();
      }
    }
  }
}
