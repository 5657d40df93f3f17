package io.mqa4j.bench.profile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mqa4j.core.KvType;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The attention shape of a model, as far as its KV cache is concerned.
 *
 * @param name model name
 * @param layers transformer layers (each has its own KV cache)
 * @param queryHeads attention (query) heads per layer
 * @param kvHeads key/value heads per layer
 * @param headDim elements per head
 * @param slidingWindow tokens a sliding-window layer keeps, 0 when none
 * @param slidingLayers how many of the layers use the sliding window
 * @param maxContext the longest context the model was configured for
 * @param dtype the element type of its published weights, the KV type by default
 */
public record ModelConfig(String name, int layers, int queryHeads, int kvHeads, int headDim,
    int slidingWindow, int slidingLayers, int maxContext, KvType dtype) {

  public ModelConfig {
    positive("num_hidden_layers", layers);
    positive("num_attention_heads", queryHeads);
    positive("num_key_value_heads", kvHeads);
    positive("head_dim", headDim);
    if (queryHeads % kvHeads != 0) {
      throw new IllegalArgumentException("num_key_value_heads=" + kvHeads
          + " must divide num_attention_heads=" + queryHeads);
    }
    positive("max_position_embeddings", maxContext);
    if (slidingWindow < 0 || slidingLayers < 0 || slidingLayers > layers) {
      throw new IllegalArgumentException("sliding_window=" + slidingWindow + " on " + slidingLayers
          + " of " + layers + " layers is not a valid layout");
    }
  }

  private static void positive(String field, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(field + " must be positive, got " + value);
    }
  }

  /** MHA, GQA or MQA, as its heads make it. */
  public String layout() {
    return kvHeads == queryHeads ? "MHA" : kvHeads == 1 ? "MQA" : "GQA";
  }

  /** The same model with {@code kv} KV heads per layer. */
  public ModelConfig withKvHeads(int kv) {
    return new ModelConfig(name, layers, queryHeads, kv, headDim, slidingWindow, slidingLayers,
        maxContext, dtype);
  }

  /** Presets from the models' published configurations (Hugging Face config.json). */
  public static final Map<String, ModelConfig> PRESETS = presets();

  private static Map<String, ModelConfig> presets() {
    Map<String, ModelConfig> m = new LinkedHashMap<>();
    add(m, new ModelConfig("llama-2-7b", 32, 32, 32, 128, 0, 0, 4096, KvType.F16));
    add(m, new ModelConfig("llama-2-70b", 80, 64, 8, 128, 0, 0, 4096, KvType.F16));
    add(m, new ModelConfig("llama-3-8b", 32, 32, 8, 128, 0, 0, 8192, KvType.BF16));
    add(m, new ModelConfig("llama-3-70b", 80, 64, 8, 128, 0, 0, 8192, KvType.BF16));
    // Llama 3.2 1B and 3B: head_dim 64 (hidden 2048 over 32 heads) and 128 (3072 over 24).
    add(m, new ModelConfig("llama-3.2-1b", 16, 32, 8, 64, 0, 0, 131072, KvType.BF16));
    add(m, new ModelConfig("llama-3.2-3b", 28, 24, 8, 128, 0, 0, 131072, KvType.BF16));
    // Mistral 7B v0.1: a 4096-token sliding window on every layer.
    add(m, new ModelConfig("mistral-7b", 32, 32, 8, 128, 4096, 32, 32768, KvType.BF16));
    // Mistral 7B v0.2 and v0.3: the same heads, no sliding window.
    add(m, new ModelConfig("mistral-7b-v0.3", 32, 32, 8, 128, 0, 0, 32768, KvType.BF16));
    // Qwen2.5 7B: hidden 3584 over 28 heads, groups of seven; its window is off
    // (use_sliding_window false). The base model's 131072 positions (Qwen2.5-7B-Instruct's
    // config.json gives 32768).
    add(m, new ModelConfig("qwen2.5-7b", 28, 28, 4, 128, 0, 0, 131072, KvType.BF16));
    // Falcon 7B: multi_query, hidden 4544 over 71 heads.
    add(m, new ModelConfig("falcon-7b", 32, 71, 1, 64, 0, 0, 2048, KvType.BF16));
    // Falcon 40B: new decoder architecture with 8 KV groups, hidden 8192 over 128 heads.
    add(m, new ModelConfig("falcon-40b", 60, 128, 8, 64, 0, 0, 2048, KvType.BF16));
    // StarCoder (GPT-BigCode): multi-query, hidden 6144 over 48 heads.
    add(m, new ModelConfig("starcoder", 40, 48, 1, 128, 0, 0, 8192, KvType.F32));
    // Gemma 2 9B: every other layer uses a 4096-token sliding window.
    add(m, new ModelConfig("gemma-2-9b", 42, 16, 8, 256, 4096, 21, 8192, KvType.F32));
    // gpt-oss-20b: every other layer uses a 128-token sliding window.
    add(m, new ModelConfig("gpt-oss-20b", 24, 64, 8, 64, 128, 12, 131072, KvType.BF16));
    return java.util.Collections.unmodifiableMap(m);
  }

  private static void add(Map<String, ModelConfig> m, ModelConfig c) {
    m.put(c.name(), c);
  }

  /**
   * The fields of the language model: the config itself, or, when it names no attention heads
   * and holds a {@code text_config} object (a multimodal model), that object, over the top
   * level's dtype. Gemma 3's text configs give only what differs from transformers'
   * {@code Gemma3TextConfig} defaults (gemma-3-4b gives no heads at all), so those defaults
   * come first.
   */
  private static JsonNode textModel(JsonNode config) {
    JsonNode text = config.get("text_config");
    if (config.has("num_attention_heads") || config.has("n_head") || text == null
        || !text.isObject()) {
      return config;
    }
    ObjectNode merged = JsonNodeFactory.instance.objectNode();
    if (text.path("model_type").asText().equals("gemma3_text")
        || config.path("model_type").asText().equals("gemma3")) {
      merged.put("num_attention_heads", 8);
      merged.put("num_key_value_heads", 4);
      merged.put("head_dim", 256);
      merged.put("num_hidden_layers", 26);
      merged.put("max_position_embeddings", 131_072);
      merged.put("sliding_window", 4096);
      merged.put("model_type", "gemma3_text");
    }
    for (String dtype : List.of("torch_dtype", "dtype")) {
      if (config.has(dtype)) {
        merged.set(dtype, config.get(dtype));
      }
    }
    text.properties().forEach(e -> merged.set(e.getKey(), e.getValue()));
    return merged;
  }

  /**
   * Reads a Hugging Face {@code config.json}: {@code num_attention_heads},
   * {@code num_key_value_heads} (absent: MHA; {@code multi_query: true}: one; ChatGLM's and
   * GLM-4's {@code multi_query_group_num} under {@code multi_query_attention: true}),
   * {@code head_dim} (ChatGLM's {@code kv_channels}) or {@code hidden_size / num_attention_heads},
   * {@code num_hidden_layers} (ChatGLM's {@code num_layers}),
   * {@code sliding_window} (on the layers {@code layer_types} marks sliding, on all but every
   * {@code sliding_window_pattern}-th layer (Gemma 3, 6 by default), from layer
   * {@code max_window_layers} on (Qwen2, Qwen3), on every other layer for
   * Gemma 2, else on every layer; off when {@code use_sliding_window} is false),
   * {@code layer_types} also for layers that hold no KV cache (linear attention),
   * {@code max_position_embeddings} and {@code torch_dtype} (or the newer {@code dtype}). Falcon's
   * and GPT-2's older field names ({@code n_head}, {@code n_layer}, {@code n_embd},
   * {@code num_kv_heads}, {@code n_head_kv}) are read too, and Falcon's
   * {@code new_decoder_architecture}. Multi-head latent attention ({@code kv_lora_rank}) and
   * layer kinds it does not know are refused rather than guessed, as is chunked attention
   * ({@code attention_chunk_size}, Llama 4), and so are configs whose layers differ in what they
   * cache (see {@link #PER_LAYER_FIELDS}). A multimodal config (Gemma 3, LLaVA) that keeps
   * these fields in {@code text_config} is read from there, with
   * Gemma 3's defaults for the fields its published configs leave out.
   */
  public static ModelConfig fromHuggingFace(String name, JsonNode config) {
    if (config == null || !config.isObject()) {
      throw new IllegalArgumentException("config must be a JSON object");
    }
    JsonNode c = textModel(config);
    if (c.hasNonNull("attention_chunk_size")) {
      // Llama 4: most layers attend within fixed chunks, a cache this profile does not model.
      throw new IllegalArgumentException("attention_chunk_size is set: chunked-attention layers "
          + "keep only their chunk's tokens, which this profile does not count");
    }
    if (c.hasNonNull("kv_lora_rank")) {
      // DeepSeek-V2/V3 cache one compressed latent per token, not K and V per head.
      throw new IllegalArgumentException("kv_lora_rank is set: multi-head latent attention caches "
          + "a latent per token, not K and V per head, which is what this profile counts");
    }
    refusePerLayerStructure(c);
    Field heads = positive(required(c, "num_attention_heads", "n_head"));
    Field layers = positive(required(c, "num_hidden_layers", "n_layer", "num_layers"));
    Field kv = positive(optionalInt(c, "num_key_value_heads", "num_kv_heads", "n_head_kv"));
    // ChatGLM and GLM-4 say grouped-query attention their own way: multi_query_attention true
    // with multi_query_group_num KV heads.
    if (flag(c, "multi_query_attention", false)) {
      Field groups = positive(optionalInt(c, "multi_query_group_num"));
      if (groups == null) {
        throw new IllegalArgumentException(
            "multi_query_attention is true but multi_query_group_num is missing");
      }
      if (kv != null && kv.value != groups.value) {
        throw new IllegalArgumentException("multi_query_attention gives " + groups + " but " + kv);
      }
      kv = groups;
    }
    // Falcon's new decoder (Falcon-40B, -180B) takes num_kv_heads and ignores multi_query, which
    // its configs still carry as true; the old decoder (Falcon-7B) takes multi_query alone. The
    // original RefinedWeb configs of the new decoder say so only by giving n_head_kv.
    boolean newDecoder = flag(c, "new_decoder_architecture", false) || c.hasNonNull("n_head_kv");
    boolean multiQuery = !newDecoder && flag(c, "multi_query", false);
    // transformers' FalconConfig fills num_kv_heads with num_attention_heads when it is not given,
    // so every Falcon-7B config it saves carries that beside multi_query, which the old decoder
    // follows: one KV head. Any other count beside multi_query contradicts it.
    boolean savedDefault = kv != null && kv.name.equals("num_kv_heads") && kv.value == heads.value;
    if (multiQuery && kv != null && kv.value != 1 && !savedDefault) {
      throw new IllegalArgumentException("multi_query is true but " + kv.name + " is " + kv.value);
    }
    if (!multiQuery && kv != null && heads.value % kv.value != 0) {
      throw new IllegalArgumentException(kv + " must divide " + heads);
    }
    int kvHeads = multiQuery ? 1 : kv != null ? kv.value : heads.value;
    Field headDimField = positive(optionalInt(c, "head_dim", "kv_channels"));
    Field hidden = positive(optionalInt(c, "hidden_size", "n_embd", "d_model"));
    int headDim;
    if (headDimField != null) {
      headDim = headDimField.value;
    } else {
      if (hidden == null) {
        throw new IllegalArgumentException("config has neither head_dim nor hidden_size");
      }
      if (hidden.value % heads.value != 0) {
        throw new IllegalArgumentException(hidden + " is not a multiple of " + heads + "; give head_dim");
      }
      headDim = hidden.value / heads.value;
    }
    int window = 0;
    JsonNode sw = c.get("sliding_window");
    // Qwen2 and Qwen3 set sliding_window in every config but use it only when use_sliding_window
    // says so, which transformers' configs for them default to false; elsewhere a window given is
    // a window used.
    boolean useSliding = flag(c, "use_sliding_window", !text(c, "model_type").startsWith("qwen"));
    if (sw != null && !sw.isNull() && useSliding) {
      if (!sw.isIntegralNumber() || !sw.canConvertToInt() || sw.asInt() <= 0) {
        throw new IllegalArgumentException("sliding_window must be a positive integer, got " + shown(sw));
      }
      window = sw.asInt();
    }
    // Layers that hold a KV cache, and how many of them slide: from layer_types when given,
    // whatever the window (linear-attention and state-space layers hold no KV cache).
    int kvLayers = layers.value;
    int slidingLayers = 0;
    JsonNode types = c.get("layer_types");
    if (types != null && !types.isNull() && !types.isArray()) {
      throw new IllegalArgumentException("layer_types must be a list of layer kinds, got " + types);
    }
    if (types != null && types.isArray()) {
      if (types.size() != layers.value) {
        throw new IllegalArgumentException("layer_types has " + types.size() + " entries but "
            + layers.name + " is " + layers.value);
      }
      kvLayers = 0;
      for (Iterator<JsonNode> it = types.elements(); it.hasNext(); ) {
        JsonNode kind = it.next();
        if (!kind.isTextual()) {
          throw new IllegalArgumentException("layer_types must hold strings, got " + kind);
        }
        switch (layerKind(kind.asText())) {
          case FULL -> kvLayers++;
          case SLIDING -> {
            kvLayers++;
            slidingLayers++;
          }
          case NO_CACHE -> { }
        }
      }
      if (kvLayers == 0) {
        throw new IllegalArgumentException("layer_types names no attention layer, so there is "
            + "no KV cache to profile");
      }
      if (window == 0) {
        slidingLayers = 0; // no window given: those layers keep every token
      }
    } else if (window > 0) {
      Field pattern = positive(optionalInt(c, "sliding_window_pattern"));
      Field maxWindowLayers = optionalInt(c, "max_window_layers");
      String modelType = text(c, "model_type");
      if (maxWindowLayers != null && maxWindowLayers.value < 0) {
        throw new IllegalArgumentException(maxWindowLayers.name + " must be >= 0, got "
            + maxWindowLayers.value);
      }
      if (maxWindowLayers != null) {
        // Qwen2 and Qwen3: layers from max_window_layers on slide, the ones before are full.
        slidingLayers = layers.value - Math.min(maxWindowLayers.value, layers.value);
      } else if (pattern != null || modelType.startsWith("gemma3")) {
        // Gemma 3: every p-th layer is global, the others slide (transformers' default p is 6).
        int p = pattern != null ? pattern.value : 6;
        slidingLayers = layers.value - layers.value / p;
      } else if (modelType.startsWith("gemma2")) {
        slidingLayers = (layers.value + 1) / 2; // Gemma 2 alternates, starting with a sliding layer
      } else {
        slidingLayers = layers.value;
      }
    }
    Field maxContext = positive(optionalInt(c, "max_position_embeddings", "n_positions", "seq_length"));
    // Newer transformers write "dtype" where older ones wrote "torch_dtype".
    String dtypeField = c.hasNonNull("torch_dtype") ? "torch_dtype" : c.hasNonNull("dtype") ? "dtype" : null;
    KvType dtype = switch ((dtypeField == null ? DEFAULT_DTYPE : text(c, dtypeField)).toLowerCase(Locale.ROOT)) {
      case "float32" -> KvType.F32;
      case "bfloat16" -> KvType.BF16;
      case "float16" -> KvType.F16;
      default -> throw new IllegalArgumentException(dtypeField + " must be float32, float16 or bfloat16, got '"
          + c.path(dtypeField).asText() + "'");
    };
    return new ModelConfig(name, kvLayers, heads.value, kvHeads, headDim, window, slidingLayers,
        maxContext != null ? maxContext.value : defaultContext(c), dtype);
  }

  /**
   * Fields that say some layers hold no self-attention KV cache, or a different number of KV
   * heads, than {@code num_hidden_layers} and {@code num_key_value_heads} make every layer hold:
   * hybrid attention/state-space stacks (Jamba's period and offset, Bamba's indices,
   * Nemotron-H's pattern), per-layer blocks (Nemotron-NAS, DeciLM), cross-attention layers
   * (Llama 3.2 Vision), recurrent blocks beside attention ones (RecurrentGemma's block types) and
   * layers that reuse another layer's cache (Gemma 3n). Reading such a
   * config as uniform would overstate its cache several times over, so it is refused.
   */
  private static final List<String> PER_LAYER_FIELDS = List.of("attn_layer_period",
      "attn_layer_offset", "attn_layer_indices", "hybrid_override_pattern", "block_configs",
      "num_key_value_heads_per_layer", "cross_attention_layers", "num_kv_shared_layers",
      "block_types", "_block_types");

  private static void refusePerLayerStructure(JsonNode c) {
    for (String field : PER_LAYER_FIELDS) {
      JsonNode v = c.get(field);
      boolean empty = v == null || v.isNull() || (v.isContainerNode() && v.isEmpty())
          || (v.isNumber() && field.equals("num_kv_shared_layers") && v.doubleValue() == 0);
      if (!empty) {
        throw new IllegalArgumentException(field + " is set: its layers do not all hold the same "
            + "self-attention KV cache, which this profile assumes, so it cannot count them");
      }
    }
  }

  private enum LayerKind { FULL, SLIDING, NO_CACHE }

  /** What a {@code layer_types} entry caches; kinds this profile does not know are refused. */
  private static LayerKind layerKind(String kind) {
    String k = kind.toLowerCase(Locale.ROOT);
    if (k.contains("sliding")) {
      return LayerKind.SLIDING;
    }
    if (k.equals("full_attention") || k.equals("attention") || k.equals("global_attention")) {
      return LayerKind.FULL;
    }
    if (k.contains("linear") || k.contains("mamba") || k.contains("conv")) {
      return LayerKind.NO_CACHE;
    }
    throw new IllegalArgumentException("layer_types holds '" + kind + "', a kind of layer whose "
        + "KV cache this profile does not know (it knows full, sliding and linear attention)");
  }

  /** The KV type of a config that names none (as transformers loads such weights by default). */
  public static final String DEFAULT_DTYPE = "float16";

  /**
   * The context of a config without {@code max_position_embeddings}: transformers' own default
   * for the model type where the profile knows it (Falcon and its RefinedWeb configs: 2048), else
   * 4096.
   */
  public static int defaultContext(JsonNode c) {
    String type = text(c, "model_type").toLowerCase(Locale.ROOT);
    return type.equals("falcon") || type.startsWith("refinedweb") ? 2048 : 4096;
  }

  /** A true/false field; absent or null gives {@code absent}; anything else is refused. */
  private static boolean flag(JsonNode c, String name, boolean absent) {
    JsonNode v = c.get(name);
    if (v == null || v.isNull()) {
      return absent;
    }
    if (!v.isBoolean()) {
      throw new IllegalArgumentException(name + " must be true or false, got " + shown(v));
    }
    return v.booleanValue();
  }

  /** A string field; absent or null gives "". */
  private static String text(JsonNode c, String name) {
    JsonNode v = c.get(name);
    if (v == null || v.isNull()) {
      return "";
    }
    if (!v.isTextual()) {
      throw new IllegalArgumentException(name + " must be a string, got " + shown(v));
    }
    return v.asText();
  }

  /** An integer field of a config, under the name the file gives it. */
  private record Field(String name, int value) {
    @Override
    public String toString() {
      return name + "=" + value;
    }
  }

  private static Field required(JsonNode c, String... names) {
    Field v = optionalInt(c, names);
    if (v == null) {
      throw new IllegalArgumentException("config lacks " + names[0]);
    }
    return v;
  }

  /** The field, or null when absent; refuses a value that is not positive. */
  private static Field positive(Field f) {
    if (f != null && f.value <= 0) {
      throw new IllegalArgumentException(f.name + " must be positive, got " + f.value);
    }
    return f;
  }

  /** A value as the file spells it: a number bare (NaN and Infinity too), anything else as JSON. */
  private static String shown(JsonNode v) {
    return v.isNumber() ? v.asText() : v.toString();
  }

  private static Field optionalInt(JsonNode c, String... names) {
    for (String n : names) {
      JsonNode v = c.get(n);
      if (v != null && !v.isNull()) {
        if (!v.isIntegralNumber()) {
          throw new IllegalArgumentException(n + " must be an integer, got " + shown(v));
        }
        if (!v.canConvertToInt()) {
          throw new IllegalArgumentException(n + "=" + v + " is " + (v.bigIntegerValue().signum() < 0
              ? "less than " + Integer.MIN_VALUE : "more than " + Integer.MAX_VALUE));
        }
        return new Field(n, v.asInt());
      }
    }
    return null;
  }
}
