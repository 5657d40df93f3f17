package io.mqa4j.bench.cli;

import io.mqa4j.bench.compare.CompareRun;
import java.io.Console;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Progress of a long run: a bar on stderr when stderr is a terminal, otherwise (and always at
 * {@code -v}) one log line per step, so pipes and CI logs stay clean.
 */
final class Progress implements CompareRun.Listener, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Progress.class);

  /**
   * stderr without System.err's buffer: the bar redraws with carriage returns and no newline, and
   * through a buffer its last redraw came out after the table printed on stdout.
   */
  private static final PrintStream UNBUFFERED_STDERR =
      new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);

  private final ProgressBar bar;
  private boolean closed;
  private long startNanos;
  private String current = "";

  private Progress(ProgressBar bar) {
    this.bar = bar;
  }

  static Progress start(String task, int steps, boolean wanted, PrintWriter err) {
    boolean terminal = wanted && stderrIsTerminal();
    if (!terminal) {
      return new Progress(null);
    }
    ProgressBar bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(steps)
        .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).continuousUpdate()
        .setConsumer(new ConsoleProgressBarConsumer(UNBUFFERED_STDERR, 100))
        .setMaxRenderedLength(100).showSpeed().build();
    return new Progress(bar);
  }

  /** The launcher knows whether stderr is a terminal; without it, ask the console. */
  private static boolean stderrIsTerminal() {
    String told = System.getProperty("mqa4j.stderr.tty");
    if (told != null) {
      return Boolean.parseBoolean(told);
    }
    Console console = System.console();
    return console != null && console.isTerminal();
  }

  @Override
  public void started(String label) {
    current = label;
    startNanos = System.nanoTime();
    if (bar != null) {
      bar.setExtraMessage(label);
    }
  }

  @Override
  public void finished() {
    LOG.info("{} took {} ms", current, Duration.ofNanos(System.nanoTime() - startNanos).toMillis());
    if (bar != null) {
      bar.step();
    }
  }

  @Override
  public void close() {
    if (closed) {
      return; // closed before the table is printed, and again by try-with-resources
    }
    closed = true;
    if (bar != null) {
      bar.setExtraMessage("done");
      bar.close();
    }
  }
}
