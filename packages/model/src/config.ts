/**
 * Model configuration for the Llama / Qwen2 family, parsed from a Hugging Face `config.json`.
 *
 * Keys that would change the math in ways this implementation does not reproduce (sliding-window
 * attention, mixture-of-experts, RoPE scaling, partial rotary, MLP bias, non-SiLU activations,
 * unknown `model_type`/`architectures`) are refused with a `CONFIG_UNSUPPORTED` error naming the key.
 */
import { ModelError, show } from "./errors.js";

export type ModelType = "llama" | "qwen2";

/** Validated model configuration (camelCase; see `parseHfConfig` for the HF key of each field). */
export interface ModelConfig {
  readonly modelType: ModelType;
  /** `hidden_size` (d). */
  readonly hiddenSize: number;
  /** `intermediate_size` (SwiGLU inner width). */
  readonly intermediateSize: number;
  /** `num_hidden_layers`. */
  readonly numLayers: number;
  /** `num_attention_heads`. */
  readonly numHeads: number;
  /** `num_key_value_heads` (GQA; defaults to `num_attention_heads`). */
  readonly numKvHeads: number;
  /** `head_dim` (defaults to `hidden_size / num_attention_heads`). */
  readonly headDim: number;
  /** `vocab_size`. */
  readonly vocabSize: number;
  /** `rms_norm_eps` (default 1e-6). */
  readonly rmsNormEps: number;
  /** `rope_theta` (default 10000). */
  readonly ropeTheta: number;
  /** `tie_word_embeddings` (default false for llama, false for qwen2 unless set). */
  readonly tieWordEmbeddings: boolean;
  /** `max_position_embeddings` (default 2048). */
  readonly maxPositionEmbeddings: number;
  /** Bias on q/k/v projections: always true for qwen2, `attention_bias` for llama (must be false). */
  readonly qkvBias: boolean;
  readonly bosTokenId?: number;
  readonly eosTokenId?: number;
}

const ARCHITECTURES: Record<string, ModelType> = {
  LlamaForCausalLM: "llama",
  Qwen2ForCausalLM: "qwen2",
};

/** Keys whose mere presence with a non-trivial value means a model this code does not implement. */
const MOE_KEYS = [
  "num_experts",
  "num_local_experts",
  "num_experts_per_tok",
  "moe_intermediate_size",
  "shared_expert_intermediate_size",
  "n_routed_experts",
  "n_shared_experts",
  "router_aux_loss_coef",
  "decoder_sparse_step",
  "moe_layer_freq",
];

function unsupported(key: string, value: unknown, why: string): never {
  throw new ModelError("CONFIG_UNSUPPORTED", `config key "${key}" = ${show(value)}: ${why}`);
}

function invalid(key: string, expected: string, value: unknown): never {
  throw new ModelError(
    "CONFIG_INVALID",
    `config key "${key}": expected ${expected}, received ${show(value)}`,
  );
}

function posInt(raw: Record<string, unknown>, key: string, fallback?: number): number {
  const v = raw[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    invalid(key, "a positive integer (required)", v);
  }
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) invalid(key, "a positive integer", v);
  return v;
}

function posNum(raw: Record<string, unknown>, key: string, fallback: number): number {
  const v = raw[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) invalid(key, "a positive finite number", v);
  return v;
}

function optBool(raw: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = raw[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") invalid(key, "a boolean", v);
  return v;
}

function optTokenId(raw: Record<string, unknown>, key: string): number | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) {
    // Some configs list several EOS ids; the first is used as *the* id, all are stop ids for sampling.
    const first = v[0];
    if (typeof first === "number" && Number.isSafeInteger(first) && first >= 0) return first;
    invalid(key, "a non-negative integer or a list of them", v);
  }
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) invalid(key, "a non-negative integer", v);
  return v;
}

function isTrivial(v: unknown): boolean {
  return v === undefined || v === null || v === 0 || v === false;
}

/** Parse and validate a Hugging Face `config.json` object (already JSON-parsed). */
export function parseHfConfig(json: unknown): ModelConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ModelError("CONFIG_INVALID", `config.json: expected a JSON object, received ${show(json)}`);
  }
  const raw = json as Record<string, unknown>;

  // --- architecture
  const mt = raw.model_type;
  if (mt !== "llama" && mt !== "qwen2") {
    unsupported("model_type", mt, 'supported model types are "llama" and "qwen2"');
  }
  const modelType: ModelType = mt;
  if (raw.architectures !== undefined && raw.architectures !== null) {
    const archs = raw.architectures;
    if (!Array.isArray(archs) || archs.length === 0) invalid("architectures", "a non-empty list", archs);
    for (const a of archs) {
      if (typeof a !== "string" || ARCHITECTURES[a] === undefined) {
        unsupported(
          "architectures",
          a,
          `supported architectures are ${Object.keys(ARCHITECTURES).join(", ")}`,
        );
      }
      if (ARCHITECTURES[a] !== modelType) {
        unsupported("architectures", a, `does not match model_type "${modelType}"`);
      }
    }
  }

  // --- keys that change the math
  for (const key of MOE_KEYS) {
    if (!isTrivial(raw[key])) unsupported(key, raw[key], "mixture-of-experts models are not supported");
  }
  if (raw.use_sliding_window === true) {
    unsupported("use_sliding_window", true, "sliding-window attention is not supported");
  }
  if (modelType === "llama" && !isTrivial(raw.sliding_window)) {
    unsupported("sliding_window", raw.sliding_window, "sliding-window attention is not supported");
  }
  if (raw.layer_types !== undefined && raw.layer_types !== null) {
    const lt = raw.layer_types;
    if (!Array.isArray(lt) || lt.some((t) => t !== "full_attention")) {
      unsupported("layer_types", lt, 'only "full_attention" layers are supported');
    }
  }
  if (raw.rope_scaling !== undefined && raw.rope_scaling !== null) {
    const rs = raw.rope_scaling as Record<string, unknown>;
    const t = rs.rope_type ?? rs.type;
    if (t !== "default") unsupported("rope_scaling", raw.rope_scaling, "RoPE scaling is not supported");
  }
  let ropeThetaFromParams: number | undefined;
  if (raw.rope_parameters !== undefined && raw.rope_parameters !== null) {
    const rp = raw.rope_parameters as Record<string, unknown>;
    if (typeof rp !== "object" || (rp.rope_type ?? "default") !== "default") {
      unsupported("rope_parameters", raw.rope_parameters, 'only rope_type "default" is supported');
    }
    if (rp.rope_theta !== undefined) {
      if (typeof rp.rope_theta !== "number" || !(rp.rope_theta > 0)) {
        invalid("rope_parameters.rope_theta", "a positive number", rp.rope_theta);
      }
      ropeThetaFromParams = rp.rope_theta;
    }
  }
  if (raw.partial_rotary_factor !== undefined && raw.partial_rotary_factor !== 1) {
    unsupported(
      "partial_rotary_factor",
      raw.partial_rotary_factor,
      "only full rotary embeddings are supported",
    );
  }
  const act = raw.hidden_act ?? "silu";
  if (act !== "silu") unsupported("hidden_act", act, 'only "silu" (SwiGLU) is supported');
  if (raw.mlp_bias === true) unsupported("mlp_bias", true, "MLP biases are not supported");
  if (modelType === "llama" && raw.attention_bias === true) {
    unsupported("attention_bias", true, "llama attention biases (including o_proj) are not supported");
  }
  if (!isTrivial(raw.attention_dropout)) {
    unsupported("attention_dropout", raw.attention_dropout, "attention dropout is not supported");
  }
  if (raw.pretraining_tp !== undefined && raw.pretraining_tp !== null && raw.pretraining_tp !== 1) {
    unsupported("pretraining_tp", raw.pretraining_tp, "only pretraining_tp = 1 is supported");
  }

  // --- sizes
  const hiddenSize = posInt(raw, "hidden_size");
  const numHeads = posInt(raw, "num_attention_heads");
  const cfg = validateConfig({
    modelType,
    hiddenSize,
    intermediateSize: posInt(raw, "intermediate_size"),
    numLayers: posInt(raw, "num_hidden_layers"),
    numHeads,
    numKvHeads: posInt(raw, "num_key_value_heads", numHeads),
    headDim: posInt(raw, "head_dim", hiddenSize % numHeads === 0 ? hiddenSize / numHeads : -1),
    vocabSize: posInt(raw, "vocab_size"),
    rmsNormEps: posNum(raw, "rms_norm_eps", 1e-6),
    ropeTheta: ropeThetaFromParams ?? posNum(raw, "rope_theta", 10000),
    tieWordEmbeddings: optBool(raw, "tie_word_embeddings", false),
    maxPositionEmbeddings: posInt(raw, "max_position_embeddings", 2048),
    qkvBias: modelType === "qwen2",
    ...tokenIds(raw),
  });
  return cfg;
}

function tokenIds(raw: Record<string, unknown>): { bosTokenId?: number; eosTokenId?: number } {
  const out: { bosTokenId?: number; eosTokenId?: number } = {};
  const b = optTokenId(raw, "bos_token_id");
  const e = optTokenId(raw, "eos_token_id");
  if (b !== undefined) out.bosTokenId = b;
  if (e !== undefined) out.eosTokenId = e;
  return out;
}

/** Check internal consistency of a config (also used for configs built in code). */
export function validateConfig(c: ModelConfig): ModelConfig {
  const ints: [string, number][] = [
    ["hidden_size", c.hiddenSize],
    ["intermediate_size", c.intermediateSize],
    ["num_hidden_layers", c.numLayers],
    ["num_attention_heads", c.numHeads],
    ["num_key_value_heads", c.numKvHeads],
    ["head_dim", c.headDim],
    ["vocab_size", c.vocabSize],
    ["max_position_embeddings", c.maxPositionEmbeddings],
  ];
  for (const [k, v] of ints) {
    if (!Number.isSafeInteger(v) || v <= 0) invalid(k, "a positive integer", v);
  }
  if (c.numHeads % c.numKvHeads !== 0) {
    invalid("num_key_value_heads", `a divisor of num_attention_heads (${c.numHeads})`, c.numKvHeads);
  }
  if (c.headDim % 2 !== 0) invalid("head_dim", "an even number (RoPE rotates pairs)", c.headDim);
  if (!(c.rmsNormEps > 0) || !Number.isFinite(c.rmsNormEps)) invalid("rms_norm_eps", "> 0", c.rmsNormEps);
  if (!(c.ropeTheta > 0) || !Number.isFinite(c.ropeTheta)) invalid("rope_theta", "> 0", c.ropeTheta);
  if (c.modelType === "llama" && c.qkvBias) invalid("attention_bias", "false for llama", c.qkvBias);
  if (c.modelType === "qwen2" && !c.qkvBias) invalid("qkvBias", "true for qwen2", c.qkvBias);
  return c;
}

/** Fields accepted by `createConfig` (sizes required, the rest defaulted). */
export interface CreateConfigOptions {
  modelType?: ModelType;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads?: number;
  headDim?: number;
  vocabSize: number;
  rmsNormEps?: number;
  ropeTheta?: number;
  tieWordEmbeddings?: boolean;
  maxPositionEmbeddings?: number;
  bosTokenId?: number;
  eosTokenId?: number;
}

/** Build a validated config in code (for models trained from scratch). Default `modelType` is llama. */
export function createConfig(o: CreateConfigOptions): ModelConfig {
  const modelType = o.modelType ?? "llama";
  const c: ModelConfig = {
    modelType,
    hiddenSize: o.hiddenSize,
    intermediateSize: o.intermediateSize,
    numLayers: o.numLayers,
    numHeads: o.numHeads,
    numKvHeads: o.numKvHeads ?? o.numHeads,
    headDim: o.headDim ?? o.hiddenSize / o.numHeads,
    vocabSize: o.vocabSize,
    rmsNormEps: o.rmsNormEps ?? 1e-6,
    ropeTheta: o.ropeTheta ?? 10000,
    tieWordEmbeddings: o.tieWordEmbeddings ?? false,
    maxPositionEmbeddings: o.maxPositionEmbeddings ?? 2048,
    qkvBias: modelType === "qwen2",
    ...(o.bosTokenId !== undefined ? { bosTokenId: o.bosTokenId } : {}),
    ...(o.eosTokenId !== undefined ? { eosTokenId: o.eosTokenId } : {}),
  };
  return validateConfig(c);
}

/** Serialise a config as a Hugging Face `config.json` object. */
export function toHfConfig(c: ModelConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    architectures: [c.modelType === "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"],
    model_type: c.modelType,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    vocab_size: c.vocabSize,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    tie_word_embeddings: c.tieWordEmbeddings,
    max_position_embeddings: c.maxPositionEmbeddings,
    hidden_act: "silu",
    torch_dtype: "float32",
  };
  if (c.modelType === "llama") {
    out.attention_bias = false;
    out.mlp_bias = false;
  } else {
    out.use_sliding_window = false;
  }
  if (c.bosTokenId !== undefined) out.bos_token_id = c.bosTokenId;
  if (c.eosTokenId !== undefined) out.eos_token_id = c.eosTokenId;
  return out;
}

/** Number of parameters of a model with this config. */
export function parameterCount(c: ModelConfig): number {
  const d = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const perLayer =
    2 * d + d * q + 2 * d * kv + q * d + 3 * d * c.intermediateSize + (c.qkvBias ? q + 2 * kv : 0);
  return c.vocabSize * d * (c.tieWordEmbeddings ? 1 : 2) + c.numLayers * perLayer + d;
}
