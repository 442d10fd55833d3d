import { emptyStatsColumns, hashString, mix32, type PairStatsBatch, STATS_COLUMNS } from "@sage/stability";
import { type CurriculumConfigInput, resolveCurriculumConfig, type SelectorName } from "./config.js";
import { createSelector, selectorFromState } from "./create.js";
import type { PairMeta } from "./difficulty.js";
import { CurriculumError } from "./errors.js";
import type { ScoringRequest, SelectorEvent, SelectorState } from "./selector.js";

/**
 * One pair of a dataset for `selectPairs`: difficulty inputs plus the current forward-pass
 * statistics, computed by any framework. Log-probs are sums over response tokens.
 */
export interface DatasetPair extends PairMeta {
  readonly id: string;
  /** `ℓθ(y_w | x)` under the current policy. */
  readonly policyChosen?: number;
  /** `ℓθ(y_l | x)` under the current policy. */
  readonly policyRejected?: number;
  /** K perturbed error margins (e.g. token dropout with `tokenDropoutWeights`), if the scheme needs them. */
  readonly perturbed?: readonly number[];
}

export type SelectPairsOptions = CurriculumConfigInput & {
  /** Which selector (default `sage`). Ignored when a state is given (the state names it). */
  readonly selector?: SelectorName;
  /** Steps (batches) to select in this call (default: `refreshEvery`, i.e. one refresh's worth). */
  readonly steps?: number;
};

/** JSON-serialisable state carried between `selectPairs` calls. */
export interface SelectPairsState {
  readonly version: 1;
  /** The next step to select for. */
  readonly step: number;
  /** Hash of the dataset's ids in order; the dataset must not be reordered between calls. */
  readonly idsHash: number;
  readonly selector: SelectorState;
}

export interface SelectPairsResult {
  /** Step of the first batch. */
  readonly startStep: number;
  /** One array of pair ids per step, in training order. */
  readonly batches: string[][];
  /** Updated state for the next call. */
  readonly state: SelectPairsState;
  /** Logging events (refreshes and batches). */
  readonly events: SelectorEvent[];
  /** The scoring requests the selector made (which pairs' statistics it used). */
  readonly requests: ScoringRequest[];
}

function idsHashOf(dataset: readonly DatasetPair[]): number {
  let h = mix32(dataset.length);
  for (const p of dataset) h = mix32(h ^ hashString(String(p.id)));
  return h;
}

function statsFor(dataset: readonly DatasetPair[], req: ScoringRequest): PairStatsBatch {
  const n = req.pairIds.length;
  const cols = emptyStatsColumns(n);
  const scheme = req.perturbation;
  const k = scheme !== null && scheme.kind !== "history" ? scheme.k : 0;
  const perturbed = k > 0 ? new Float64Array(n * k) : null;
  for (let j = 0; j < n; j++) {
    const p = dataset[req.pairIds[j]!]!;
    for (const c of STATS_COLUMNS) {
      const v = p[c];
      if (v === undefined) {
        throw new CurriculumError(
          "MISSING_STATS",
          `pair ${JSON.stringify(p.id)}: the selector asked to score it (${req.kind}), expected field "${c}", received none`,
        );
      }
      cols[c][j] = v;
    }
    if (perturbed !== null && scheme !== null) {
      const m = p.perturbed;
      if (m === undefined || m.length !== k) {
        throw CurriculumError.mismatch(
          "MISSING_STATS",
          `pair ${JSON.stringify(p.id)}: perturbed margins for the "${scheme.kind}" scheme`,
          `${k} margins (or set perturbation: "none" or "history")`,
          m ?? "none",
        );
      }
      perturbed.set(m, j * k);
    }
  }
  const ids = req.pairIds.slice();
  return perturbed === null ? { ids, ...cols } : { ids, ...cols, perturbed, k };
}

/**
 * Select the next pairs to train on, for use with any training framework.
 *
 * `dataset` holds every pair with its difficulty inputs and its CURRENT statistics (policy and
 * reference sequence log-probs, token counts, and perturbed margins if the scheme needs them;
 * only the pairs the selector asks to score are read). Pass the `state` returned by the previous
 * call (none the first time); the dataset's order must stay the same. Returns the batches for
 * the next `steps` steps (default `refreshEvery`) and the new state. Recompute the statistics
 * with the updated policy before the next call.
 */
export function selectPairs(
  dataset: readonly DatasetPair[],
  state: SelectPairsState | null | undefined,
  options: SelectPairsOptions = {},
): SelectPairsResult {
  const { selector: name = "sage", steps: stepsOpt, ...configInput } = options;
  const seen = new Map<string, number>();
  dataset.forEach((p, i) => {
    const id = String(p.id);
    const prev = seen.get(id);
    if (prev !== undefined) {
      throw new CurriculumError(
        "INVALID_DATASET",
        `pair id ${JSON.stringify(id)} appears twice (indices ${prev} and ${i}); ids must be unique`,
      );
    }
    seen.set(id, i);
  });
  const idsHash = idsHashOf(dataset);
  let selector: ReturnType<typeof createSelector>;
  let step: number;
  if (state) {
    if (state.version !== 1 || typeof state.step !== "number") {
      throw CurriculumError.mismatch(
        "INVALID_STATE",
        "selectPairs state",
        "a state returned by selectPairs (version 1)",
        state,
      );
    }
    if (state.idsHash !== idsHash) {
      throw new CurriculumError(
        "INVALID_STATE",
        "selectPairs state: the dataset's ids or their order differ from the call that produced the state",
      );
    }
    if (Object.keys(configInput).length > 0) {
      const asked = JSON.stringify(resolveCurriculumConfig(configInput));
      if (asked !== JSON.stringify(state.selector.config)) {
        throw CurriculumError.mismatch(
          "INVALID_STATE",
          "selectPairs config",
          "the config stored in the state (or no config fields)",
          configInput,
        );
      }
    }
    selector = selectorFromState(state.selector, dataset);
    step = state.step;
  } else {
    selector = createSelector(name, { dataset, ...configInput });
    step = 0;
  }
  const steps = stepsOpt ?? selector.config.refreshEvery;
  if (!Number.isInteger(steps) || steps < 1)
    throw CurriculumError.mismatch("INVALID_CONFIG", "selectPairs steps", "an integer ≥ 1", steps);
  const startStep = step;
  const batches: string[][] = [];
  const requests: ScoringRequest[] = [];
  for (let s = 0; s < steps; s++, step++) {
    while (selector.needsRefresh(step)) {
      const req = selector.requestScoring();
      requests.push(req);
      selector.refresh(statsFor(dataset, req));
    }
    batches.push(selector.nextBatch(step).map((i) => String(dataset[i]!.id)));
  }
  return {
    startStep,
    batches,
    state: { version: 1, step, idsHash, selector: selector.state() },
    events: selector.metrics(),
    requests,
  };
}
