package io.mqa4j.core.jfr;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** Attention of several query tokens over a sequence's keys. */
@Name("mqa4j.Prefill")
@Label("mqa4j Prefill")
@Description("Attention of several query tokens over a sequence's keys")
public final class PrefillEvent extends KernelCallEvent {}
