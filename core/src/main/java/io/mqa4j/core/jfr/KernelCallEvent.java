package io.mqa4j.core.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.StackTrace;

/**
 * The fields every mqa4j kernel event carries. Concrete events are {@link DecodeEvent},
 * {@link PrefillEvent} and {@link DecodeBatchEvent}.
 *
 * <p>No stack trace unless a recording asks for one ({@code mqa4j.Decode#stackTrace=true}):
 * taking it cost 1.6–1.9 µs a call (a 6.7 µs decode of 16 keys took 8.5), the event without it
 * 0–0.3 µs, and the calls come from one place, the engine's step.
 */
@Category({"mqa4j", "Attention"})
@StackTrace(false)
public abstract class KernelCallEvent extends Event {

  @Label("Kernel")
  @Description("The kernel that ran the call: scalar or simd (simd+scalar for a batch it split)")
  public String kernel;

  @Label("Layout")
  @Description("MHA, GQA or MQA")
  public String layout;

  @Label("Query Heads")
  public int queryHeads;

  @Label("KV Heads")
  public int kvHeads;

  @Label("Head Dim")
  public int headDim;

  @Label("Queries")
  @Description("Query tokens (rows) attended; sequences for a batched decode")
  public int queries;

  @Label("Keys")
  @Description("Key tokens the sequence holds, from its first held token (released ones not counted) to its length; the sum over sequences for a batched decode")
  public long keys;

  @Label("KV Type")
  @Description("Element type of the keys and values: f32, f16, bf16 or q8_0; mixed for a batch over caches of several types")
  public String kvType;

  @Label("KV Bytes Read")
  @Description("Bytes of keys and values the call reads: every visible cached row once")
  @DataAmount(DataAmount.BYTES)
  public long kvBytesRead;
}
