package io.mqa4j.core.jfr;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** One decode step: one query token over a sequence's cached keys. */
@Name("mqa4j.Decode")
@Label("mqa4j Decode")
@Description("One decode step: one query token over a sequence's cached keys")
public final class DecodeEvent extends KernelCallEvent {}
