package io.mqa4j.bench.compare;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What a run was measured on, so figures travel with their context. */
public record Machine(String cpu, int processors, long memoryBytes, String os, String java,
    String vm) {

  /** This machine. */
  public static Machine current() {
    return new Machine(cpuModel(), Runtime.getRuntime().availableProcessors(), physicalMemory(),
        System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
            + System.getProperty("os.arch"),
        Runtime.version().toString() + " (" + System.getProperty("java.vendor") + ")",
        System.getProperty("java.vm.name"));
  }

  private static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).strip();
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: fall through
    }
    return System.getProperty("os.arch");
  }

  private static long physicalMemory() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    return -1;
  }

  /** One line for a report. */
  public String summary() {
    return cpu + ", " + processors + " processors" + (memoryBytes > 0 ? ", "
        + Sizes.bytes(memoryBytes) + " RAM" : "") + "; " + os + "; Java " + java;
  }
}
