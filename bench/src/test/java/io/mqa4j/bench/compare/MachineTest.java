package io.mqa4j.bench.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

class MachineTest {

  private static List<String> processor(String vendor, int family, int model, String name) {
    return List.of("processor\t: 0", "vendor_id\t: " + vendor, "cpu family\t: " + family,
        "model\t\t: " + model, "model name\t: " + name, "stepping\t: 1", "");
  }

  @Test
  void namesTheFamilyModelAndCoreOfAnAmdHost() {
    assertEquals("AMD EPYC (family 25, model 17: Zen 4)",
        Machine.describeCpu(processor("AuthenticAMD", 25, 17, "AMD EPYC")));
    assertEquals("AMD EPYC (family 26, model 2: Zen 5)",
        Machine.describeCpu(processor("AuthenticAMD", 26, 2, "AMD EPYC")));
    assertEquals("AMD EPYC 7763 64-Core Processor (family 25, model 1: Zen 3)",
        Machine.describeCpu(processor("AuthenticAMD", 25, 1, "AMD EPYC 7763 64-Core Processor")));
  }

  @Test
  void readsOnlyTheFirstProcessor() {
    List<String> two = new java.util.ArrayList<>(processor("AuthenticAMD", 25, 17, "first"));
    two.addAll(processor("AuthenticAMD", 26, 2, "second"));
    assertEquals("first (family 25, model 17: Zen 4)", Machine.describeCpu(two));
  }

  @Test
  void givesNumbersWithoutACoreNameWhereTheCoreIsNotKnown() {
    assertEquals("Intel(R) Xeon(R) (family 6, model 143)",
        Machine.describeCpu(processor("GenuineIntel", 6, 143, "Intel(R) Xeon(R)")));
    assertNull(Machine.coreName("AuthenticAMD", 0x15, 2));
  }

  @Test
  void keepsTheBareNameWhenTheNumbersAreMissingOrUnreadable() {
    assertEquals("Neoverse", Machine.describeCpu(List.of("model name\t: Neoverse")));
    assertEquals("X", Machine.describeCpu(
        List.of("cpu family\t: ?", "model\t\t: 1", "model name\t: X")));
  }
}
