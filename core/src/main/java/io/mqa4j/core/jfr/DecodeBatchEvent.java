package io.mqa4j.core.jfr;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** One decode step for each of several sequences. */
@Name("mqa4j.DecodeBatch")
@Label("mqa4j DecodeBatch")
@Description("One decode step for each of several sequences")
public final class DecodeBatchEvent extends KernelCallEvent {}
