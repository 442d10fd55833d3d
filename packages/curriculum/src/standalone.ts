import {
  type ErrorMarginSource,
  emptyStatsColumns,
  hashString,
  mix32,
  type PairStatsBatch,
  type PerturbationScheme,
  STATS_COLUMNS,
} from "@sage/stability";
import {
  type CurriculumConfig,
  type CurriculumConfigInput,
  resolveCurriculumConfig,
  type SelectorName,
} from "./config.js";
import { createSelector, selectorFromState } from "./create.js";
import type { PairMeta } from "./difficulty.js";
import { CurriculumError } from "./errors.js";
import { JSONL_FIELD_OF, sourceLineOf } from "./jsonl.js";
import type { ScoringRequest, Selector, SelectorEvent, SelectorState } from "./selector.js";

/** The statistics fields of a pair (everything `DatasetPair` adds to `PairMeta`). */
export interface PairScores {
  /** `ℓθ(y_w | x)` under the current policy. */
  readonly policyChosen?: number;
  /** `ℓθ(y_l | x)` under the current policy. */
  readonly policyRejected?: number;
  readonly referenceChosen?: number;
  readonly referenceRejected?: number;
  readonly chosenTokens?: number;
  readonly rejectedTokens?: number;
  /** K perturbed error margins (e.g. token dropout with `tokenDropoutWeights`), if the scheme needs them. */
  readonly perturbed?: readonly number[];
}

/**
 * One pair of a dataset for `selectPairs`: difficulty inputs plus the current forward-pass
 * statistics, computed by any framework. Log-probs are sums over response tokens.
 */
export interface DatasetPair extends PairMeta, PairScores {
  readonly id: string;
}

export type SelectPairsOptions = CurriculumConfigInput & {
  /** Which selector (default `sage`). With a state it must match the state's (or be omitted). */
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

/** A scoring request in dataset ids: which pairs to score (with the policy) before the next batches. */
export interface ScoringPlan {
  /** `probe` (held-out competence pairs, `competence: "probe"` only) or `pool` (the P candidates). */
  readonly kind: "probe" | "pool";
  /** 1-based refresh index. */
  readonly refresh: number;
  /** Step at which the refresh started (its first batch's step). */
  readonly step: number;
  /** Pair ids to score, in order. */
  readonly ids: string[];
  /** Each pair's index in the dataset: the `pairKey` of its token-dropout masks. */
  readonly pairKeys: number[];
  /** How to produce `perturbed` margins (null: not needed). */
  readonly perturbation: PerturbationScheme | null;
  /** The error-margin source the perturbed margins are computed in. */
  readonly errorMargin: ErrorMarginSource;
  /** Policy forward passes this request costs. */
  readonly forwardPasses: number;
}

/** What `SelectionSession.next` returns. */
export interface NextBatches {
  /** Step of the first batch. */
  readonly startStep: number;
  /** One array of pair ids per step. */
  readonly batches: string[][];
  /** Refreshes answered during the call (from the statistics given to it). */
  readonly served: ScoringRequest[];
  /** The refresh the call stopped at because its pairs have no statistics yet (null: none pending). */
  readonly pending: ScoringPlan | null;
}

/**
 * Statistics for dataset index `i`, or `undefined` when this source has none for it (the pair is
 * "not scored"). A request is answered only when every pair it asks for is scored.
 */
export type StatsLookup = (index: number) => DatasetPair | undefined;

function idsHashOf(dataset: readonly DatasetPair[]): number {
  let h = mix32(dataset.length);
  for (const p of dataset) h = mix32(h ^ hashString(String(p.id)));
  return h;
}

function statsFor(dataset: readonly DatasetPair[], lookup: StatsLookup, req: ScoringRequest): PairStatsBatch {
  const n = req.pairIds.length;
  const cols = emptyStatsColumns(n);
  const scheme = req.perturbation;
  const k = scheme !== null && scheme.kind !== "history" ? scheme.k : 0;
  const perturbed = k > 0 ? new Float64Array(n * k) : null;
  for (let j = 0; j < n; j++) {
    const index = req.pairIds[j]!;
    const p = lookup(index) ?? dataset[index]!;
    for (const c of STATS_COLUMNS) {
      const v = p[c];
      if (v === undefined) {
        const line = sourceLineOf(p);
        throw new CurriculumError(
          "STATS_MISSING",
          `${line !== undefined ? `line ${line}: ` : ""}pair ${JSON.stringify(p.id)}: the selector asked to score it (${req.kind}), ` +
            `expected field "${line !== undefined ? (JSONL_FIELD_OF[c] ?? c) : c}", received none`,
        );
      }
      cols[c][j] = v;
    }
    if (perturbed !== null && scheme !== null) {
      const m = p.perturbed;
      if (m === undefined || m.length !== k) {
        throw CurriculumError.mismatch(
          "STATS_MISSING",
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

function flatten(value: unknown, prefix: string, out: Map<string, string>): void {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix === "" ? k : `${prefix}.${k}`, out);
  } else {
    out.set(prefix, JSON.stringify(value) ?? "undefined");
  }
}

/**
 * The config fields on which two resolved configs differ, as
 * `"seed": the state holds 0, this call asks for 3` (empty when equal).
 */
export function configDifferences(held: CurriculumConfig, asked: CurriculumConfig): string[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(held, "", a);
  flatten(asked, "", b);
  const out: string[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(key) ?? "(absent)";
    const y = b.get(key) ?? "(absent)";
    if (x !== y) out.push(`"${key}": the state holds ${x}, this call asks for ${y}`);
  }
  return out;
}

function checkIds(dataset: readonly DatasetPair[]): void {
  const seen = new Map<string, number>();
  dataset.forEach((p, i) => {
    const id = String(p.id);
    const prev = seen.get(id);
    if (prev !== undefined) {
      throw new CurriculumError(
        "DATA_INVALID",
        `pair id ${JSON.stringify(id)} appears twice (indices ${prev} and ${i}); ids must be unique`,
      );
    }
    seen.set(id, i);
  });
}

/**
 * A selector over a dataset of pairs identified by string ids, driven one scoring round at a time:
 * `plan()` says which pairs to score next, `next(steps, lookup)` answers due refreshes from the
 * statistics in `lookup` and returns batches until a refresh needs statistics it does not have.
 * Its `state()` is JSON and continues exactly where it stopped (`SelectionSession.open`).
 */
export class SelectionSession {
  private constructor(
    private readonly dataset: readonly DatasetPair[],
    private readonly selector: Selector,
    private readonly idsHash: number,
    private stepValue: number,
  ) {}

  /**
   * Open a session: a new selector (`state` null/undefined) or the one in `state`. With a state,
   * config fields and the selector name may be given again: fields equal to the state's are
   * accepted (so the same config can be passed on every call), a difference throws
   * `STATE_INVALID` naming every differing field.
   */
  static open(
    dataset: readonly DatasetPair[],
    state: SelectPairsState | null | undefined,
    options: Omit<SelectPairsOptions, "steps"> = {},
  ): SelectionSession {
    const { selector: name, ...configInput } = options;
    checkIds(dataset);
    const idsHash = idsHashOf(dataset);
    if (!state) {
      const selector = createSelector(name ?? "sage", { dataset, ...configInput });
      return new SelectionSession(dataset, selector, idsHash, 0);
    }
    if (
      typeof state !== "object" ||
      state.version !== 1 ||
      !Number.isSafeInteger(state.step) ||
      state.step < 0
    ) {
      throw CurriculumError.mismatch(
        "STATE_INVALID",
        "selectPairs state",
        "a state returned by selectPairs or SelectionSession (version 1, step ≥ 0)",
        state,
      );
    }
    if (state.idsHash !== idsHash) {
      throw new CurriculumError(
        "STATE_INVALID",
        "selectPairs state: the dataset's ids or their order differ from the call that produced the state; keep the same pairs in the same order (or start a new state)",
      );
    }
    if (name !== undefined && name !== state.selector?.name) {
      throw CurriculumError.mismatch(
        "STATE_INVALID",
        "selector name",
        `${JSON.stringify(state.selector?.name)} (the state's selector) or none`,
        name,
      );
    }
    if (Object.keys(configInput).length > 0) {
      const held = resolveCurriculumConfig({ ...state.selector.config });
      // fields this call gives must equal the state's; the others are taken from the state
      const asked = resolveCurriculumConfig({
        ...held,
        ...configInput,
        stability: { ...held.stability, ...configInput.stability },
      });
      const diffs = configDifferences(held, asked);
      if (diffs.length > 0) {
        throw new CurriculumError(
          "STATE_INVALID",
          `the config differs from the one stored in the state: ${diffs.join("; ")}. Give the same config (or none) to continue, or start a new state`,
        );
      }
    }
    const selector = selectorFromState(state.selector, dataset);
    return new SelectionSession(dataset, selector, idsHash, state.step);
  }

  /** The next step to select for. */
  get step(): number {
    return this.stepValue;
  }

  get config(): CurriculumConfig {
    return this.selector.config;
  }

  get selectorName(): SelectorName {
    return this.selector.name;
  }

  private planOf(req: ScoringRequest): ScoringPlan {
    return {
      kind: req.kind,
      refresh: req.refresh,
      step: req.step,
      ids: req.pairIds.map((i) => String(this.dataset[i]!.id)),
      pairKeys: req.pairIds.slice(),
      perturbation: req.perturbation,
      errorMargin: req.errorMargin,
      forwardPasses: req.forwardPasses,
    };
  }

  /**
   * The pairs to score before the next batch: the pending request, or the one of the refresh due at
   * `step` (started here, so asking twice gives the same plan). Null when batches can be taken now.
   */
  plan(): ScoringPlan | null {
    return this.selector.needsRefresh(this.stepValue) ? this.planOf(this.selector.requestScoring()) : null;
  }

  /**
   * Batches from the current step on: at most `maxSteps`, and at most `maxRefreshes` refreshes
   * answered (default: unlimited). A due refresh is answered when `lookup` has statistics for
   * every pair it asks for; when it has none of them the call stops there (`pending`), and when it
   * has only some it throws `STATS_MISSING` naming the missing ids. Batches never repeat a pair
   * between two refreshes; with `maxRefreshes: 1` nothing repeats within the call.
   */
  next(maxSteps: number, lookup: StatsLookup, maxRefreshes = Number.POSITIVE_INFINITY): NextBatches {
    if (!Number.isInteger(maxSteps) || maxSteps < 1)
      throw CurriculumError.mismatch("CONFIG_INVALID", "steps", "an integer ≥ 1", maxSteps);
    const startStep = this.stepValue;
    const batches: string[][] = [];
    const served: ScoringRequest[] = [];
    const refreshes = new Set<number>();
    let pending: ScoringPlan | null = null;
    outer: for (let s = 0; s < maxSteps; s++) {
      while (this.selector.needsRefresh(this.stepValue)) {
        const req = this.selector.requestScoring();
        const scored = req.pairIds.filter((i) => lookup(i) !== undefined).length;
        if (
          (refreshes.size >= maxRefreshes && !refreshes.has(req.refresh)) ||
          (scored === 0 && req.pairIds.length > 0)
        ) {
          pending = this.planOf(req);
          break outer;
        }
        if (scored < req.pairIds.length) {
          const missing = req.pairIds.filter((i) => lookup(i) === undefined).map((i) => this.dataset[i]!.id);
          throw new CurriculumError(
            "STATS_MISSING",
            `refresh ${req.refresh} (${req.kind}) asked to score ${req.pairIds.length} pairs; statistics are missing for ${missing.length} of them: ${missing
              .slice(0, 5)
              .map((id) => JSON.stringify(id))
              .join(", ")}${missing.length > 5 ? ", …" : ""}; score every pair of the plan`,
          );
        }
        this.selector.refresh(statsFor(this.dataset, lookup, req));
        served.push(req);
        refreshes.add(req.refresh);
      }
      const batch = this.selector.nextBatch(this.stepValue);
      if (batch.length === 0) break;
      batches.push(batch.map((i) => String(this.dataset[i]!.id)));
      this.stepValue++;
    }
    // say which pairs the next refresh needs, if it is due at the step after the last batch
    if (pending === null && this.selector.needsRefresh(this.stepValue))
      pending = this.planOf(this.selector.requestScoring());
    return { startStep, batches, served, pending };
  }

  /** JSON-serialisable state; `SelectionSession.open(dataset, state)` continues from it. */
  state(): SelectPairsState {
    return { version: 1, step: this.stepValue, idsHash: this.idsHash, selector: this.selector.state() };
  }

  /** Refresh and batch events since the last call. */
  events(): SelectorEvent[] {
    return this.selector.metrics();
  }
}

/**
 * Select the next pairs to train on, for use with any training framework.
 *
 * `dataset` holds every pair with its difficulty inputs and its CURRENT statistics (policy and
 * reference sequence log-probs, token counts, and perturbed margins if the scheme needs them;
 * only the pairs the selector asks to score are read). Pass the `state` returned by the previous
 * call (none the first time); the dataset's order must stay the same. Returns the batches for
 * the next `steps` steps (default `refreshEvery`) and the new state. Recompute the statistics
 * with the updated policy before the next call. To score only the pairs that are needed, use
 * `SelectionSession` (`plan`, then `next`).
 */
export function selectPairs(
  dataset: readonly DatasetPair[],
  state: SelectPairsState | null | undefined,
  options: SelectPairsOptions = {},
): SelectPairsResult {
  const { steps: stepsOpt, ...rest } = options;
  const session = SelectionSession.open(dataset, state, rest);
  const steps = stepsOpt ?? session.config.refreshEvery;
  if (!Number.isInteger(steps) || steps < 1)
    throw CurriculumError.mismatch("CONFIG_INVALID", "selectPairs steps", "an integer ≥ 1", steps);
  const r = session.next(steps, (i) => dataset[i]);
  return {
    startStep: r.startStep,
    batches: r.batches,
    state: session.state(),
    events: session.events(),
    requests: r.served,
  };
}
