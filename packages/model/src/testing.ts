/**
 * Test fixtures (`@sage/model/testing`): the tiny qwen2 and llama configs of the GPU-vs-reference
 * tests, their init scale, and the one-layer character model the CLI and trainer tests train.
 * Pure and deterministic (no device, no files): the same call gives the same config, tokenizer
 * and, through `initWeights`, the same weights.
 */
import { type CreateConfigOptions, createConfig, type ModelConfig } from "./config.js";
import { CharTokenizer } from "./tokenizer.js";
import type { InitOptions } from "./weights.js";

/** Fields of `createConfig` options that replace a fixture's values. */
export type ConfigOverrides = Partial<CreateConfigOptions>;

/**
 * qwen2, tied embeddings, GQA 4→2, QKV bias: two 16-wide layers, intermediate 20, vocabulary 13,
 * head dim 4.
 */
export function tinyQwen2Config(overrides: ConfigOverrides = {}): ModelConfig {
  return createConfig({
    modelType: "qwen2",
    hiddenSize: 16,
    intermediateSize: 20,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    vocabSize: 13,
    tieWordEmbeddings: true,
    ...overrides,
  });
}

/** llama, untied, MHA: two 16-wide layers with 2 heads, intermediate 24, vocabulary 11, RoPE θ 100. */
export function tinyLlamaConfig(overrides: ConfigOverrides = {}): ModelConfig {
  return createConfig({
    hiddenSize: 16,
    intermediateSize: 24,
    numLayers: 2,
    numHeads: 2,
    vocabSize: 11,
    ropeTheta: 100,
    ...overrides,
  });
}

/**
 * A larger-than-default init for `initWeights` (std 0.3, biases 0.1, norm weights 1 ± 0.1) so
 * that every path (attention mixing, SwiGLU curvature, biases, norms) matters in a comparison.
 */
export const WIDE_INIT: Readonly<InitOptions> = { std: 0.3, biasStd: 0.1, normStd: 0.1 };

/** Digits, `+` and `=`: the alphabet of the arithmetic pairs (`3+4=` → `7`). */
export const ARITHMETIC_CHARS = "0123456789+=";

/** `ARITHMETIC_CHARS` and the characters of `\boxed{}`, for answers in boxed form. */
export const BOXED_CHARS = "0123456789+=\\boxed{}";

export interface TinyCharModelOptions {
  /** The tokenizer's characters (default `ARITHMETIC_CHARS`). */
  chars?: string;
  /** Default 32. */
  maxPositionEmbeddings?: number;
}

export interface TinyCharModel {
  readonly tokenizer: CharTokenizer;
  readonly config: ModelConfig;
}

/**
 * A character tokenizer and a model sized to it: one 16-wide qwen2 layer, 2 heads and 1 KV head,
 * intermediate 32, tied embeddings. A CLI or trainer run on lavapipe takes seconds.
 */
export function tinyCharModel(options: TinyCharModelOptions = {}): TinyCharModel {
  const tokenizer = new CharTokenizer(options.chars ?? ARITHMETIC_CHARS);
  const config = createConfig({
    modelType: "qwen2",
    hiddenSize: 16,
    intermediateSize: 32,
    numLayers: 1,
    numHeads: 2,
    numKvHeads: 1,
    vocabSize: tokenizer.vocabSize,
    tieWordEmbeddings: true,
    maxPositionEmbeddings: options.maxPositionEmbeddings ?? 32,
  });
  return { tokenizer, config };
}
