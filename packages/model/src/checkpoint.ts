/**
 * Hugging Face model folders: `config.json`, `model.safetensors` or sharded
 * `model-0000x-of-0000y.safetensors` + `model.safetensors.index.json`, `tokenizer.json`.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { type ModelConfig, parseHfConfig, toHfConfig } from "./config.js";
import { ModelError, show } from "./errors.js";
import type { FloatDType } from "./safetensors.js";
import { SafetensorsFile, writeFileAtomic, writeSafetensorsFile } from "./safetensors-file.js";
import { checkVocab, type Tokenizer } from "./tokenizer.js";
import { loadTokenizer } from "./tokenizer-file.js";
import { type ModelWeights, weightsFromTensors, weightsToTensors } from "./weights.js";

export interface LoadedModel {
  config: ModelConfig;
  weights: ModelWeights;
  /** Present when the folder has a `tokenizer.json`. */
  tokenizer?: Tokenizer;
}

function readJson(path: string, code: "CONFIG_INVALID" | "CHECKPOINT_INVALID"): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ModelError(code, `cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelError(code, `${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Parse `model.safetensors.index.json`: tensor name → shard file name (validated, no paths). */
export function parseShardIndex(json: unknown, where = "model.safetensors.index.json"): Map<string, string> {
  const wm = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof wm !== "object" || wm === null || Array.isArray(wm)) {
    throw new ModelError(
      "CHECKPOINT_INVALID",
      `${where}: expected an object "weight_map", received ${show(wm)}`,
    );
  }
  const out = new Map<string, string>();
  for (const [name, file] of Object.entries(wm)) {
    if (
      typeof file !== "string" ||
      file !== basename(file) ||
      file === "." ||
      file === ".." ||
      !file.endsWith(".safetensors")
    ) {
      throw new ModelError(
        "CHECKPOINT_INVALID",
        `${where}: weight_map["${name}"] must be a .safetensors file name in the same folder, received ${show(file)}`,
      );
    }
    out.set(name, file);
  }
  return out;
}

/** Read config, weights (single file or sharded) and, when present, the tokenizer of a model folder. */
export function loadModelDir(dir: string): LoadedModel {
  const config = parseHfConfig(readJson(join(dir, "config.json"), "CONFIG_INVALID"));
  const indexPath = join(dir, "model.safetensors.index.json");
  const single = join(dir, "model.safetensors");
  const files = new Map<string, SafetensorsFile>();
  const owner = new Map<string, SafetensorsFile>();
  try {
    if (existsSync(single)) {
      const f = SafetensorsFile.open(single);
      files.set(single, f);
      for (const n of f.names) owner.set(n, f);
    } else if (existsSync(indexPath)) {
      const map = parseShardIndex(readJson(indexPath, "CHECKPOINT_INVALID"), indexPath);
      for (const [name, file] of map) {
        const p = join(dir, file);
        let f = files.get(p);
        if (!f) {
          f = SafetensorsFile.open(p);
          files.set(p, f);
        }
        if (!f.header.tensors.has(name)) {
          throw new ModelError("TENSOR_MISSING", `${indexPath} maps "${name}" to ${file}, which lacks it`);
        }
        owner.set(name, f);
      }
    } else {
      throw new ModelError(
        "CHECKPOINT_INVALID",
        `${dir} has neither model.safetensors nor model.safetensors.index.json`,
      );
    }
    const weights = weightsFromTensors(config, [...owner.keys()], (name) => {
      const f = owner.get(name) as SafetensorsFile;
      return f.readFloat32(name);
    });
    const out: LoadedModel = { config, weights };
    if (existsSync(join(dir, "tokenizer.json"))) {
      const tok = loadTokenizer(dir);
      checkVocab(tok, config);
      out.tokenizer = tok;
    }
    return out;
  } finally {
    for (const f of files.values()) f.close();
  }
}

export interface SaveOptions {
  /** Stored dtype (default F32; F16/BF16 round to nearest even). */
  dtype?: FloatDType;
  /** Split into shards of at most this many bytes of tensor data (default: one file). */
  maxShardBytes?: number;
  tokenizer?: Tokenizer;
}

/** Write a model folder in HF layout (every file written atomically). */
export function saveModelDir(
  dir: string,
  config: ModelConfig,
  weights: ModelWeights,
  options: SaveOptions = {},
): void {
  mkdirSync(dir, { recursive: true });
  if (options.tokenizer) checkVocab(options.tokenizer, config);
  writeFileAtomic(join(dir, "config.json"), `${JSON.stringify(toHfConfig(config), null, 2)}\n`);
  const dtype = options.dtype ?? "F32";
  const bytes = dtype === "F32" ? 4 : 2;
  const tensors = weightsToTensors(config, weights).map((t) => ({ ...t, dtype }));
  const max = options.maxShardBytes;
  // A stale file of the other layout would shadow (or contradict) what is written now.
  rmSync(join(dir, max === undefined ? "model.safetensors.index.json" : "model.safetensors"), {
    force: true,
  });
  if (max === undefined) {
    writeSafetensorsFile(join(dir, "model.safetensors"), tensors);
  } else {
    if (!(max > 0)) throw new ModelError("INPUT_INVALID", `maxShardBytes must be > 0, received ${show(max)}`);
    const shards: (typeof tensors)[] = [[]];
    let size = 0;
    for (const t of tensors) {
      const n = t.data.length * bytes;
      const cur = shards[shards.length - 1] as typeof tensors;
      if (cur.length > 0 && size + n > max) {
        shards.push([t]);
        size = n;
      } else {
        cur.push(t);
        size += n;
      }
    }
    const pad = (i: number) => String(i).padStart(5, "0");
    const weightMap: Record<string, string> = {};
    let total = 0;
    shards.forEach((s, i) => {
      const file = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
      writeSafetensorsFile(join(dir, file), s);
      for (const t of s) {
        weightMap[t.name] = file;
        total += t.data.length * bytes;
      }
    });
    writeFileAtomic(
      join(dir, "model.safetensors.index.json"),
      `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`,
    );
  }
  if (options.tokenizer) {
    writeFileAtomic(join(dir, "tokenizer.json"), JSON.stringify(options.tokenizer.toJSON()));
  }
}
