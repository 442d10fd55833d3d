import { deriveSeed, type PairStatsBatch, Rng } from "@sage/stability";
import type { PairMeta, ScoringRequest, Selector, SelectorEvent } from "../src/index.js";

/**
 * The eight selectors of the spec, written out here (not taken from `SELECTOR_NAMES`) so that a
 * selector dropped from the package's list still fails the tests that run every selector.
 */
export const EVERY_SELECTOR = [
  "sage",
  "uniform",
  "random",
  "curriculum-only",
  "score-only",
  "hard-mining",
  "small-margin",
  "selective",
] as const;

/** A dataset with pass rates drawn from a seeded rng (tests only). */
export function fakeDataset(n: number, seed: number): PairMeta[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `p${i}`,
    passRate: Math.round(rng.next() * 8) / 8,
    referenceChosen: -30 * rng.next(),
    referenceRejected: -30 * rng.next(),
  }));
}

/**
 * Fake "trainer" statistics: pair i's policy preference e (per token) is random per refresh;
 * perturbed margins are e + spread·N(0,1). The implicit margin (β = 0.1) is `margin` when given
 * (e.g. −5: competence 0; +5: every pair trivial), else N(0,1); `probeMargin` overrides it for probes.
 */
export function fakeStats(
  req: ScoringRequest,
  opts: { margin?: number; probeMargin?: number; spread?: number } = {},
): PairStatsBatch {
  const margin = req.kind === "probe" && opts.probeMargin !== undefined ? opts.probeMargin : opts.margin;
  const n = req.pairIds.length;
  const cols = {
    policyChosen: new Float64Array(n),
    policyRejected: new Float64Array(n),
    referenceChosen: new Float64Array(n),
    referenceRejected: new Float64Array(n),
    chosenTokens: new Float64Array(n).fill(10),
    rejectedTokens: new Float64Array(n).fill(10),
  };
  const s = req.perturbation;
  const k = s !== null && s.kind !== "history" ? s.k : 0;
  const perturbed = new Float64Array(n * k);
  for (let j = 0; j < n; j++) {
    const id = req.pairIds[j]!;
    const r = new Rng(deriveSeed(17, id, req.refresh));
    const e = 4 * r.normal();
    cols.policyChosen[j] = -20 + 5 * e;
    cols.policyRejected[j] = -20 - 5 * e;
    cols.referenceChosen[j] = -20 + 5 * e - 10 * (margin ?? r.normal());
    cols.referenceRejected[j] = -20 - 5 * e;
    for (let q = 0; q < k; q++) perturbed[j * k + q] = e + (opts.spread ?? 0.5) * r.normal();
  }
  const ids = req.pairIds.slice();
  return k > 0 ? { ids, ...cols, perturbed, k } : { ids, ...cols };
}

/** Drive a selector through `steps` steps with fake statistics; returns batches and events. */
export function drive(
  sel: Selector,
  steps: number,
  opts: { margin?: number; probeMargin?: number; spread?: number; from?: number } = {},
): { batches: number[][]; events: SelectorEvent[]; requests: ScoringRequest[] } {
  const batches: number[][] = [];
  const events: SelectorEvent[] = [];
  const requests: ScoringRequest[] = [];
  const from = opts.from ?? 0;
  for (let step = from; step < from + steps; step++) {
    while (sel.needsRefresh(step)) {
      const req = sel.requestScoring();
      requests.push(req);
      sel.refresh(fakeStats(req, opts));
    }
    batches.push(sel.nextBatch(step));
    events.push(...sel.metrics());
  }
  return { batches, events, requests };
}
