/**
 * Model parameters on the CPU (Float32Array, Hugging Face layout: Linear weights are
 * `[out_features, in_features]`, y = x·Wᵀ + b) and the mapping to/from HF tensor names.
 */
import type { ModelConfig } from "./config.js";
import { ModelError, show } from "./errors.js";
import { Rng } from "./sampling.js";

export interface LayerWeights {
  inputNorm: Float32Array; // [d]
  q: Float32Array; // [nH·hd, d]
  k: Float32Array; // [nKV·hd, d]
  v: Float32Array; // [nKV·hd, d]
  o: Float32Array; // [d, nH·hd]
  qBias?: Float32Array; // [nH·hd] (qwen2)
  kBias?: Float32Array; // [nKV·hd]
  vBias?: Float32Array; // [nKV·hd]
  postNorm: Float32Array; // [d]
  gate: Float32Array; // [I, d]
  up: Float32Array; // [I, d]
  down: Float32Array; // [d, I]
}

export interface ModelWeights {
  embed: Float32Array; // [V, d]
  layers: LayerWeights[];
  finalNorm: Float32Array; // [d]
  /** `[V, d]`; absent when `tieWordEmbeddings` (the embedding matrix is used). */
  lmHead?: Float32Array;
}

/** One named parameter: HF name, shape, and accessors into a `ModelWeights`. */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  get(w: ModelWeights): Float32Array;
  set(w: ModelWeights, data: Float32Array): void;
}

type LayerKey = keyof LayerWeights;

/** The parameters of a model with this config, in HF naming and a fixed order. */
export function parameterSpecs(c: ModelConfig): ParamSpec[] {
  const d = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const I = c.intermediateSize;
  const specs: ParamSpec[] = [
    {
      name: "model.embed_tokens.weight",
      shape: [c.vocabSize, d],
      get: (w) => w.embed,
      set: (w, x) => {
        w.embed = x;
      },
    },
  ];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    const layer = (key: LayerKey, name: string, shape: number[]): ParamSpec => ({
      name: p + name,
      shape,
      get: (w) => {
        const t = w.layers[l]?.[key];
        if (!t) throw new ModelError("TENSOR_MISSING", `weights lack ${p + name}`);
        return t;
      },
      set: (w, x) => {
        const L = w.layers[l];
        if (!L) throw new ModelError("STATE_INVALID", `weights lack layer ${l}`);
        L[key] = x;
      },
    });
    specs.push(layer("inputNorm", "input_layernorm.weight", [d]));
    specs.push(layer("q", "self_attn.q_proj.weight", [q, d]));
    specs.push(layer("k", "self_attn.k_proj.weight", [kv, d]));
    specs.push(layer("v", "self_attn.v_proj.weight", [kv, d]));
    if (c.qkvBias) {
      specs.push(layer("qBias", "self_attn.q_proj.bias", [q]));
      specs.push(layer("kBias", "self_attn.k_proj.bias", [kv]));
      specs.push(layer("vBias", "self_attn.v_proj.bias", [kv]));
    }
    specs.push(layer("o", "self_attn.o_proj.weight", [d, q]));
    specs.push(layer("postNorm", "post_attention_layernorm.weight", [d]));
    specs.push(layer("gate", "mlp.gate_proj.weight", [I, d]));
    specs.push(layer("up", "mlp.up_proj.weight", [I, d]));
    specs.push(layer("down", "mlp.down_proj.weight", [d, I]));
  }
  specs.push({
    name: "model.norm.weight",
    shape: [d],
    get: (w) => w.finalNorm,
    set: (w, x) => {
      w.finalNorm = x;
    },
  });
  if (!c.tieWordEmbeddings) {
    specs.push({
      name: "lm_head.weight",
      shape: [c.vocabSize, d],
      get: (w) => {
        if (!w.lmHead) throw new ModelError("TENSOR_MISSING", "weights lack lm_head.weight");
        return w.lmHead;
      },
      set: (w, x) => {
        w.lmHead = x;
      },
    });
  }
  return specs;
}

function emptyWeights(c: ModelConfig): ModelWeights {
  const z = new Float32Array(0);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    layers.push({ inputNorm: z, q: z, k: z, v: z, o: z, postNorm: z, gate: z, up: z, down: z });
  }
  return { embed: z, layers, finalNorm: z };
}

/** Tensors whose presence is harmless (buffers older HF versions saved). */
const IGNORED = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

/**
 * Build `ModelWeights` from named tensors (e.g. read from safetensors). Every expected tensor must
 * exist with the exact shape; unknown tensors are refused (they signal an architecture this code
 * does not implement). With tied embeddings an `lm_head.weight` is ignored.
 */
export function weightsFromTensors(
  c: ModelConfig,
  names: readonly string[],
  read: (name: string) => { shape: readonly number[]; data: Float32Array },
): ModelWeights {
  const w = emptyWeights(c);
  const specs = parameterSpecs(c);
  const have = new Set(names);
  const missing = specs.filter((s) => !have.has(s.name)).map((s) => s.name);
  if (missing.length > 0) {
    throw new ModelError(
      "TENSOR_MISSING",
      `checkpoint lacks ${missing.length} tensor(s): ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", …" : ""}`,
    );
  }
  const expected = new Set(specs.map((s) => s.name));
  const unexpected = names.filter(
    (n) => !expected.has(n) && !IGNORED.test(n) && !(c.tieWordEmbeddings && n === "lm_head.weight"),
  );
  if (unexpected.length > 0) {
    throw new ModelError(
      "TENSOR_UNEXPECTED",
      `checkpoint has tensor(s) this ${c.modelType} config does not use: ${unexpected.slice(0, 5).join(", ")}`,
    );
  }
  for (const s of specs) {
    const t = read(s.name);
    if (t.shape.length !== s.shape.length || t.shape.some((v, i) => v !== s.shape[i])) {
      throw new ModelError(
        "TENSOR_SHAPE_MISMATCH",
        `tensor "${s.name}": expected shape ${show(s.shape)}, received ${show(t.shape)}`,
      );
    }
    s.set(w, t.data);
  }
  return w;
}

/** Named tensors of a model in HF naming, in `parameterSpecs` order. */
export function weightsToTensors(
  c: ModelConfig,
  w: ModelWeights,
): { name: string; shape: readonly number[]; data: Float32Array }[] {
  return parameterSpecs(c).map((s) => {
    const data = s.get(w);
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) {
      throw new ModelError(
        "TENSOR_SHAPE_MISMATCH",
        `"${s.name}": expected ${n} elements, received ${data.length}`,
      );
    }
    return { name: s.name, shape: s.shape, data };
  });
}

export interface InitOptions {
  /** Standard deviation of weight matrices and embeddings (HF `initializer_range`, default 0.02). */
  std?: number;
  /** Standard deviation of biases (default 0: HF initialises biases to zero). */
  biasStd?: number;
  /** Norm weights are 1 + normStd·N(0,1) (default 0). Non-zero is useful for gradient tests. */
  normStd?: number;
}

/** Seeded random initialisation (normal weights, unit norms, zero biases by default). */
export function initWeights(c: ModelConfig, seed: number, o: InitOptions = {}): ModelWeights {
  const rng = new Rng(seed);
  const std = o.std ?? 0.02;
  const w = emptyWeights(c);
  for (const s of parameterSpecs(c)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const x = new Float32Array(n);
    const isNorm = s.name.endsWith("norm.weight");
    const isBias = s.name.endsWith(".bias");
    for (let i = 0; i < n; i++) {
      if (isNorm) x[i] = 1 + (o.normStd ?? 0) * rng.normal();
      else if (isBias) x[i] = (o.biasStd ?? 0) * rng.normal();
      else x[i] = std * rng.normal();
    }
    s.set(w, x);
  }
  return w;
}

/** Deep copy. */
export function cloneWeights(c: ModelConfig, w: ModelWeights): ModelWeights {
  const out = emptyWeights(c);
  for (const s of parameterSpecs(c)) s.set(out, s.get(w).slice());
  return out;
}
