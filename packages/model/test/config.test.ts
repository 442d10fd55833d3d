import { describe, expect, it } from "vitest";
import { createConfig, ModelError, parameterCount, parseHfConfig, toHfConfig } from "../src/index.js";

const llama = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  hidden_size: 64,
  intermediate_size: 172,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 100,
  rms_norm_eps: 1e-5,
  rope_theta: 500000,
  tie_word_embeddings: true,
  max_position_embeddings: 256,
  hidden_act: "silu",
  attention_bias: false,
  mlp_bias: false,
  rope_scaling: null,
  torch_dtype: "bfloat16",
  initializer_range: 0.02,
};

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelError);
    return (e as ModelError).code;
  }
  return undefined;
}

describe("parseHfConfig", () => {
  it("parses a Llama config with defaults for head_dim", () => {
    const c = parseHfConfig(llama);
    expect(c).toMatchObject({
      modelType: "llama",
      hiddenSize: 64,
      intermediateSize: 172,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      headDim: 16,
      vocabSize: 100,
      rmsNormEps: 1e-5,
      ropeTheta: 500000,
      tieWordEmbeddings: true,
      maxPositionEmbeddings: 256,
      qkvBias: false,
    });
  });

  it("parses Qwen2 (QKV bias on; disabled sliding window accepted) and explicit head_dim", () => {
    const c = parseHfConfig({
      ...llama,
      architectures: ["Qwen2ForCausalLM"],
      model_type: "qwen2",
      attention_bias: undefined,
      use_sliding_window: false,
      sliding_window: 32768,
      max_window_layers: 21,
      head_dim: 8,
      eos_token_id: [7, 8],
    });
    expect(c.qkvBias).toBe(true);
    expect(c.headDim).toBe(8);
    expect(c.eosTokenId).toBe(7);
  });

  it("defaults num_key_value_heads, rope_theta, rms_norm_eps and takes rope_parameters.rope_theta", () => {
    const { num_key_value_heads: _a, rope_theta: _b, rms_norm_eps: _c, ...rest } = llama;
    const c = parseHfConfig(rest);
    expect(c.numKvHeads).toBe(4);
    expect(c.ropeTheta).toBe(10000);
    expect(c.rmsNormEps).toBe(1e-6);
    expect(
      parseHfConfig({ ...rest, rope_parameters: { rope_type: "default", rope_theta: 123 } }).ropeTheta,
    ).toBe(123);
  });

  it.each([
    ["model_type", { model_type: "gpt2" }],
    ["architectures", { architectures: ["MistralForCausalLM"] }],
    [
      "use_sliding_window",
      { model_type: "qwen2", architectures: ["Qwen2ForCausalLM"], use_sliding_window: true },
    ],
    ["sliding_window", { sliding_window: 4096 }],
    ["num_local_experts", { num_local_experts: 8 }],
    ["num_experts", { num_experts: 4 }],
    ["rope_scaling", { rope_scaling: { rope_type: "llama3", factor: 8 } }],
    ["rope_parameters", { rope_parameters: { rope_type: "yarn", factor: 4 } }],
    ["hidden_act", { hidden_act: "gelu" }],
    ["mlp_bias", { mlp_bias: true }],
    ["attention_bias", { attention_bias: true }],
    ["partial_rotary_factor", { partial_rotary_factor: 0.5 }],
    ["layer_types", { layer_types: ["full_attention", "sliding_attention"] }],
    ["attention_dropout", { attention_dropout: 0.1 }],
  ])("refuses %s with a message naming the key", (key, patch) => {
    let err: unknown;
    try {
      parseHfConfig({ ...llama, ...patch });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).code).toBe("CONFIG_UNSUPPORTED");
    expect((err as ModelError).message).toContain(`"${key}"`);
  });

  it.each([
    ["hidden_size", { hidden_size: -4 }],
    ["hidden_size", { hidden_size: 6.5 }],
    ["vocab_size", { vocab_size: undefined }],
    ["num_key_value_heads", { num_key_value_heads: 3 }],
    ["head_dim", { head_dim: 5 }],
    ["rms_norm_eps", { rms_norm_eps: 0 }],
    ["tie_word_embeddings", { tie_word_embeddings: "yes" }],
  ])("rejects an invalid %s", (key, patch) => {
    let err: unknown;
    try {
      parseHfConfig({ ...llama, ...patch });
    } catch (e) {
      err = e;
    }
    expect((err as ModelError).code).toBe("CONFIG_INVALID");
    expect((err as ModelError).message).toContain(key);
  });

  it("rejects non-objects", () => {
    expect(codeOf(() => parseHfConfig([]))).toBe("CONFIG_INVALID");
    expect(codeOf(() => parseHfConfig(null))).toBe("CONFIG_INVALID");
  });

  it("round-trips through toHfConfig", () => {
    const c = parseHfConfig(llama);
    expect(parseHfConfig(toHfConfig(c))).toEqual(c);
    const q = createConfig({
      modelType: "qwen2",
      hiddenSize: 8,
      intermediateSize: 12,
      numLayers: 1,
      numHeads: 2,
      vocabSize: 10,
    });
    expect(parseHfConfig(toHfConfig(q))).toEqual(q);
  });

  it("counts parameters", () => {
    const c = createConfig({
      hiddenSize: 4,
      intermediateSize: 6,
      numLayers: 1,
      numHeads: 2,
      numKvHeads: 1,
      vocabSize: 5,
    });
    // embed 20 + lm_head 20 + norms 3·4 + q 16 + k 8 + v 8 + o 16 + mlp 3·24
    expect(parameterCount(c)).toBe(20 + 20 + 12 + 16 + 8 + 8 + 16 + 72);
  });
});
