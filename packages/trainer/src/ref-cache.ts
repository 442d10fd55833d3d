import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { atomicWriteJson } from "./atomic.js";
import { describeValue, TrainerError } from "./errors.js";

/** Reference log-probs ℓref(y_w|x), ℓref(y_l|x) per pair, in dataset order. */
export interface RefLogProbs {
  readonly ids: readonly string[];
  readonly chosen: Float64Array;
  readonly rejected: Float64Array;
  /** Response token counts, when the reference pass reported them. */
  readonly chosenTokens?: Uint32Array;
  readonly rejectedTokens?: Uint32Array;
}

const HASH = z.string().regex(/^[0-9a-f]{16,}$/, "expected a lowercase hex hash");
const cacheFileSchema = z.object({
  formatVersion: z.literal(1),
  modelHash: HASH,
  dataHash: HASH,
  ids: z.array(z.string()),
  chosen: z.array(z.number().max(0)),
  rejected: z.array(z.number().max(0)),
  chosenTokens: z.array(z.number().int().min(0)).optional(),
  rejectedTokens: z.array(z.number().int().min(0)).optional(),
});

function checkHash(name: string, value: string): void {
  if (!HASH.safeParse(value).success) {
    throw new TrainerError(
      "REF_CACHE_INVALID",
      `${name} must be a lowercase hex hash; received ${describeValue(value)}`,
    );
  }
}

/**
 * Disk cache of reference log-probs keyed by (model hash, data hash): computed once per
 * reference model and dataset, reused across runs and on resume. One JSON file per key:
 * `<dir>/ref-<model[0:16]>-<data[0:16]>.json`, written atomically. JSON keeps float64 values
 * exactly (shortest round-trip form), so cached values equal computed ones bit for bit.
 */
export class RefLogProbCache {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  pathFor(modelHash: string, dataHash: string): string {
    checkHash("modelHash", modelHash);
    checkHash("dataHash", dataHash);
    return join(this.dir, `ref-${modelHash.slice(0, 16)}-${dataHash.slice(0, 16)}.json`);
  }

  /** The cached entry, or undefined when absent. Throws `REF_CACHE_INVALID` when present but wrong. */
  async get(modelHash: string, dataHash: string): Promise<RefLogProbs | undefined> {
    const path = this.pathFor(modelHash, dataHash);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    const parsed = cacheFileSchema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new TrainerError(
        "REF_CACHE_INVALID",
        `${path}: field "${issue.path.join(".")}": ${issue.message}`,
      );
    }
    const f = parsed.data;
    if (f.modelHash !== modelHash || f.dataHash !== dataHash) {
      throw new TrainerError(
        "REF_CACHE_INVALID",
        `${path}: expected model ${modelHash.slice(0, 16)}… data ${dataHash.slice(0, 16)}…; file holds model ${f.modelHash.slice(0, 16)}… data ${f.dataHash.slice(0, 16)}…`,
      );
    }
    if (f.chosen.length !== f.ids.length || f.rejected.length !== f.ids.length) {
      throw new TrainerError(
        "REF_CACHE_INVALID",
        `${path}: expected ${f.ids.length} chosen and rejected values (one per id); received ${f.chosen.length} and ${f.rejected.length}`,
      );
    }
    const tokens =
      f.chosenTokens?.length === f.ids.length && f.rejectedTokens?.length === f.ids.length
        ? {
            chosenTokens: Uint32Array.from(f.chosenTokens),
            rejectedTokens: Uint32Array.from(f.rejectedTokens),
          }
        : {};
    return {
      ids: f.ids,
      chosen: Float64Array.from(f.chosen),
      rejected: Float64Array.from(f.rejected),
      ...tokens,
    };
  }

  async put(modelHash: string, dataHash: string, ref: RefLogProbs): Promise<string> {
    const path = this.pathFor(modelHash, dataHash);
    if (ref.chosen.length !== ref.ids.length || ref.rejected.length !== ref.ids.length) {
      throw new TrainerError(
        "REF_CACHE_INVALID",
        `expected one chosen and one rejected value per id (${ref.ids.length})`,
      );
    }
    for (const arr of [ref.chosen, ref.rejected]) {
      for (const v of arr) {
        if (!Number.isFinite(v) || v > 0) {
          throw new TrainerError(
            "REF_CACHE_INVALID",
            `reference log-probs must be finite and ≤ 0; received ${describeValue(v)}`,
          );
        }
      }
    }
    await atomicWriteJson(path, {
      formatVersion: 1,
      modelHash,
      dataHash,
      ids: ref.ids,
      chosen: Array.from(ref.chosen),
      rejected: Array.from(ref.rejected),
      ...(ref.chosenTokens && ref.rejectedTokens
        ? { chosenTokens: Array.from(ref.chosenTokens), rejectedTokens: Array.from(ref.rejectedTokens) }
        : {}),
    });
    return path;
  }

  /** Cached value when present (and its ids match `ids`), else `compute()`, stored, returned. */
  async getOrCompute(
    modelHash: string,
    dataHash: string,
    ids: readonly string[],
    compute: () => Promise<Omit<RefLogProbs, "ids">>,
  ): Promise<{ ref: RefLogProbs; hit: boolean }> {
    const cached = await this.get(modelHash, dataHash);
    if (cached) {
      if (cached.ids.length !== ids.length || cached.ids.some((id, i) => id !== ids[i])) {
        throw new TrainerError(
          "REF_CACHE_INVALID",
          `${this.pathFor(modelHash, dataHash)}: pair ids differ from the dataset's although the data hash matches`,
        );
      }
      return { ref: cached, hit: true };
    }
    const computed = await compute();
    const ref: RefLogProbs = { ...computed, ids: [...ids] };
    await this.put(modelHash, dataHash, ref);
    return { ref, hit: false };
  }
}
