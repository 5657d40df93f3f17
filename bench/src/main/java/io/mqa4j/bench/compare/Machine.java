package io.mqa4j.bench.compare;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

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
      return describeCpu(Files.readAllLines(Path.of("/proc/cpuinfo")));
    } catch (IOException | RuntimeException e) {
      return System.getProperty("os.arch"); // not Linux
    }
  }

  /**
   * The model name of the first processor in {@code /proc/cpuinfo} lines, with its family and
   * model numbers, and the core's name where they are known. Vendors' model names often leave the
   * generation out ("AMD EPYC"), and one generation can run the same vector width at half the FMA
   * rate of the next (Zen 4 splits each 512-bit operation in two; Zen 5 need not), so a peak read
   * on one host says nothing of another without them.
   */
  static String describeCpu(List<String> cpuinfo) {
    String name = null, vendor = null;
    int family = -1, model = -1;
    for (String line : cpuinfo) {
      if (line.isBlank() && name != null) {
        break; // the first processor's block is enough
      }
      int colon = line.indexOf(':');
      if (colon < 0) {
        continue;
      }
      String key = line.substring(0, colon).strip();
      String value = line.substring(colon + 1).strip();
      switch (key) {
        case "model name" -> name = value;
        case "vendor_id" -> vendor = value;
        case "cpu family" -> family = parseOrMinusOne(value);
        case "model" -> model = parseOrMinusOne(value);
        default -> { }
      }
    }
    if (name == null) {
      return System.getProperty("os.arch");
    }
    if (family < 0 || model < 0) {
      return name;
    }
    String core = coreName(vendor, family, model);
    return name + " (family " + family + ", model " + model + (core == null ? "" : ": " + core)
        + ")";
  }

  /** AMD's cores by family and model; null where not known (Intel's models are too many). */
  static String coreName(String vendor, int family, int model) {
    if (!"AuthenticAMD".equals(vendor)) {
      return null;
    }
    return switch (family) {
      case 0x17 -> "Zen, Zen+ or Zen 2";
      case 0x19 -> (model >= 0x10 && model <= 0x1f) || (model >= 0x60 && model <= 0x7f)
          || (model >= 0xa0 && model <= 0xaf) ? "Zen 4" : "Zen 3";
      case 0x1a -> "Zen 5";
      default -> null;
    };
  }

  private static int parseOrMinusOne(String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      return -1;
    }
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
