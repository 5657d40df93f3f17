package io.mqa4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AttentionShapeTest {

  @Test
  void factoriesNameTheirLayouts() {
    AttentionShape mha = AttentionShape.mha(32, 128);
    AttentionShape gqa = AttentionShape.gqa(32, 8, 128);
    AttentionShape mqa = AttentionShape.mqa(32, 128);
    assertEquals(AttentionShape.Layout.MHA, mha.layout());
    assertEquals(AttentionShape.Layout.GQA, gqa.layout());
    assertEquals(AttentionShape.Layout.MQA, mqa.layout());
    assertEquals(1, mha.groupSize());
    assertEquals(4, gqa.groupSize());
    assertEquals(32, mqa.groupSize());
    assertEquals(32 * 128, gqa.queryStride());
    assertEquals(8 * 128, gqa.kvStride());
    assertEquals(AttentionShape.Layout.MHA, AttentionShape.mqa(1, 4).layout(), "one head over one is MHA");
  }

  @Test
  void queryHeadsReadTheirGroupsKvHead() {
    AttentionShape gqa = AttentionShape.gqa(12, 3, 8);
    int[] expected = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2};
    for (int h = 0; h < 12; h++) {
      assertEquals(expected[h], gqa.kvHeadOf(h), "head " + h);
    }
    for (int h = 0; h < 12; h++) {
      assertEquals(0, AttentionShape.mqa(12, 8).kvHeadOf(h));
      assertEquals(h, AttentionShape.mha(12, 8).kvHeadOf(h));
    }
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "0|1|8|queryHeads must be positive, got 0",
      "8|0|8|kvHeads must be positive, got 0",
      "8|-2|8|kvHeads must be positive, got -2",
      "8|2|0|headDim must be positive, got 0",
      "8|3|64|kvHeads (3) must divide queryHeads (8)",
      "4|8|64|kvHeads (8) must divide queryHeads (4)",
      "65536|1|32768|queryHeads * headDim must fit in an int, got queryHeads=65536 * headDim=32768 = 2147483648",
      "2147483647|2147483647|2|queryHeads * headDim must fit in an int, got queryHeads=2147483647 * headDim=2 = 4294967294"})
  void invalidShapesNameTheirValues(int queryHeads, int kvHeads, int headDim, String message) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new AttentionShape(queryHeads, kvHeads, headDim));
    assertEquals(message, e.getMessage());
  }

  @Test
  void stridesUpToIntMaxAreAccepted() {
    assertEquals(Integer.MAX_VALUE, AttentionShape.mha(1, Integer.MAX_VALUE).queryStride());
    AttentionShape wide = AttentionShape.gqa(2, 1, Integer.MAX_VALUE / 2);
    assertEquals(Integer.MAX_VALUE - 1, wide.queryStride());
    assertEquals(Integer.MAX_VALUE / 2, wide.kvStride());
  }

  @Test
  void toStringShowsLayoutAndSizes() {
    String s = AttentionShape.gqa(32, 8, 128).toString();
    assertTrue(s.contains("32") && s.contains("8") && s.contains("128"), s);
  }
}
