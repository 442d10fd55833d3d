import type { PairStatsBatch } from "../src/index.js";

/** Build a batch from plain arrays (tests only). */
export function makeBatch(cols: {
  policyChosen: number[];
  policyRejected: number[];
  referenceChosen?: number[];
  referenceRejected?: number[];
  chosenTokens?: number[];
  rejectedTokens?: number[];
  perturbed?: number[][];
  ids?: Array<string | number>;
}): PairStatsBatch {
  const n = cols.policyChosen.length;
  const f = (a: number[] | undefined, fill: number) =>
    Float64Array.from(a ?? new Array<number>(n).fill(fill));
  const base = {
    policyChosen: f(cols.policyChosen, 0),
    policyRejected: f(cols.policyRejected, 0),
    referenceChosen: f(cols.referenceChosen, 0),
    referenceRejected: f(cols.referenceRejected, 0),
    chosenTokens: f(cols.chosenTokens, 1),
    rejectedTokens: f(cols.rejectedTokens, 1),
    ...(cols.ids ? { ids: cols.ids } : {}),
  };
  if (!cols.perturbed) return base;
  const k = cols.perturbed[0]!.length;
  return { ...base, perturbed: Float64Array.from(cols.perturbed.flat()), k };
}
