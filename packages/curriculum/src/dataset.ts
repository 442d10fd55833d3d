import { mix32 } from "@sage/stability";
import type { PairMeta } from "./difficulty.js";
import { CurriculumError } from "./errors.js";

/** A dataset for the selectors: per-pair metadata, or just a pair count (for selectors without a curriculum). */
export type DatasetInput = readonly PairMeta[] | number;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function hashNumber(h: number, v: number | undefined): number {
  if (v === undefined) return mix32(h ^ 0x5bd1e995);
  f64[0] = v;
  return mix32(mix32(h ^ u32[0]!) ^ u32[1]!);
}

/** Normalise a dataset input; an empty dataset throws `DATA_EMPTY`. */
export function datasetInfo(input: DatasetInput): {
  size: number;
  pairs: readonly PairMeta[] | null;
  fingerprint: number;
} {
  if (typeof input === "number") {
    if (!Number.isInteger(input) || input < 0) {
      throw CurriculumError.mismatch("DATA_INVALID", "dataset size", "a non-negative integer", input);
    }
    if (input === 0) throw new CurriculumError("DATA_EMPTY", "dataset: expected at least 1 pair, received 0");
    return { size: input, pairs: null, fingerprint: mix32(input) };
  }
  if (!Array.isArray(input))
    throw CurriculumError.mismatch("DATA_INVALID", "dataset", "an array of pairs or a pair count", input);
  if (input.length === 0)
    throw new CurriculumError("DATA_EMPTY", "dataset: expected at least 1 pair, received 0");
  let h = mix32(input.length);
  for (const p of input) {
    h = hashNumber(h, p.passRate);
    h = hashNumber(h, p.level);
    h = hashNumber(h, p.referenceChosen);
    h = hashNumber(h, p.referenceRejected);
  }
  return { size: input.length, pairs: input, fingerprint: h };
}
