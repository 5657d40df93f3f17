/**
 * mqa4j bench: the JMH benchmarks and the {@code mqa} command line (attend, compare, roofline,
 * share, profile, report).
 */
module io.mqa4j.bench {
  requires io.mqa4j.core;
  requires io.mqa4j.simd;
  requires jdk.incubator.vector;
  requires info.picocli;
  requires jmh.core;
  requires com.fasterxml.jackson.databind;
  requires org.knowm.xchart;
  requires me.tongfei.progressbar;
  requires org.slf4j;
  requires ch.qos.logback.classic;
  requires java.desktop;
  requires java.management;
  requires jdk.jfr;

  exports io.mqa4j.bench.io;
  exports io.mqa4j.bench.npy;
  exports io.mqa4j.bench.roofline;
  opens io.mqa4j.bench.cli to info.picocli;
  opens io.mqa4j.bench.compare to com.fasterxml.jackson.databind;
  opens io.mqa4j.bench.roofline to com.fasterxml.jackson.databind;
  opens io.mqa4j.bench.profile to com.fasterxml.jackson.databind;
}
