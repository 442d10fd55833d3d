import {
  type CurriculumConfigInput,
  type ScoringRequest as CurriculumRequest,
  createSelector,
  type PairMeta,
  type Selector,
  type SelectorName,
  type SelectorState,
  selectorFromState,
} from "@sage/curriculum";
import type { PairStatsBatch } from "@sage/stability";
import { describeValue, TrainerError } from "./errors.js";
import type { BatchLogProbs } from "./policy.js";
import type { ScoredPairs, ScoringRequest, SelectorContext, TrainingSelector } from "./selector.js";

interface AdapterState {
  readonly inner: SelectorState;
  readonly sticky: Record<string, number>;
}

/**
 * Drive a `@sage/curriculum` selector (`sage` or any baseline) from the DPO loop.
 *
 * - The curriculum selector is built in `init`, from the pairs (difficulty → `passRate = 1 − d`,
 *   `level`) and the reference log-probs; `batchSize` and `stability.beta` come from the trainer
 *   config (setting them differently in `config` is an error); `seed` defaults to a draw from the
 *   trainer's RNG.
 * - Scoring requests become forward passes; token-dropout margins are turned into the selector's
 *   error margins: `policy` source: kept mean of y_w minus kept mean of y_l; `implicit` source:
 *   β (perturbed ℓθ(y_w) − ℓref(y_w) − perturbed ℓθ(y_l) + ℓref(y_l)) (length-normalised when
 *   `stability.lengthNormalize`). Deviation: for `implicit` only the policy term is perturbed (the
 *   reference's per-token log-probs are not kept).
 * - Refresh metrics (frontier, competence of the highest stratum measured at the refresh, pool size,
 *   filtered fractions) are repeated on every step until the next refresh; score quantiles are per
 *   batch.
 * - Statistics come from refresh scoring only (spec v2): the margins of the training pass are not
 *   fed back (`observeTrained` does nothing), and the selector itself knows which pairs it handed
 *   out for training.
 */
export function curriculumSelector(name: SelectorName, config: CurriculumConfigInput = {}): TrainingSelector {
  return new CurriculumTrainingSelector(name, config);
}

class CurriculumTrainingSelector implements TrainingSelector {
  readonly name: string;
  readonly #config: CurriculumConfigInput;
  #inner: Selector | undefined;
  #dataset: PairMeta[] = [];
  #pending: CurriculumRequest | undefined;
  #sticky: Record<string, number> = {};

  constructor(name: SelectorName, config: CurriculumConfigInput) {
    this.name = name;
    this.#config = config;
  }

  get inner(): Selector {
    if (!this.#inner) throw new TrainerError("SELECTION_INVALID", "curriculum selector used before init()");
    return this.#inner;
  }

  init(ctx: SelectorContext): void {
    const c = this.#config;
    if (c.batchSize !== undefined && c.batchSize !== ctx.batchSize) {
      throw new TrainerError(
        "CONFIG_INVALID",
        `selector config "batchSize" (${describeValue(c.batchSize)}) differs from the trainer's batchSize ${ctx.batchSize}; set it once, in the trainer config`,
      );
    }
    if (c.stability?.beta !== undefined && c.stability.beta !== ctx.beta) {
      throw new TrainerError(
        "CONFIG_INVALID",
        `selector config "stability.beta" (${describeValue(c.stability.beta)}) differs from the trainer's beta ${ctx.beta}; set it once, in the trainer config`,
      );
    }
    this.#dataset = ctx.pairs.map((p, i) => {
      const meta: {
        -readonly [K in keyof PairMeta]: PairMeta[K];
      } = { id: p.id, referenceChosen: ctx.refChosen[i]!, referenceRejected: ctx.refRejected[i]! };
      if (p.difficulty !== undefined) meta.passRate = 1 - p.difficulty;
      if (p.level !== undefined) meta.level = p.level;
      if (ctx.chosenTokens && ctx.rejectedTokens) {
        meta.chosenTokens = ctx.chosenTokens[i]!;
        meta.rejectedTokens = ctx.rejectedTokens[i]!;
      }
      return meta;
    });
    const seed = c.seed ?? ctx.rng.nextU32();
    this.#inner = createSelector(this.name as SelectorName, {
      ...c,
      seed,
      batchSize: ctx.batchSize,
      stability: { ...c.stability, beta: ctx.beta },
      dataset: this.#dataset,
    });
    this.#pending = undefined;
    this.#sticky = {};
  }

  nextScoringRequest(step: number): ScoringRequest | undefined {
    if (!this.inner.needsRefresh(step)) return undefined;
    const req = this.inner.requestScoring();
    this.#pending = req;
    return { indices: req.pairIds, perturbation: req.perturbation, purpose: req.kind };
  }

  receiveScores(scored: ScoredPairs): void {
    const req = this.#pending;
    if (!req)
      throw new TrainerError("SELECTION_INVALID", "scores received without a pending curriculum request");
    this.#pending = undefined;
    const { logps } = scored;
    const n = req.pairIds.length;
    const stability = this.inner.config.stability;
    const base: PairStatsBatch = {
      ids: req.pairIds,
      policyChosen: logps.chosen,
      policyRejected: logps.rejected,
      referenceChosen: scored.refChosen,
      referenceRejected: scored.refRejected,
      chosenTokens: Float64Array.from(logps.chosenTokens),
      rejectedTokens: Float64Array.from(logps.rejectedTokens),
    };
    const p = req.perturbation;
    if (p?.kind !== "token-dropout") {
      this.inner.refresh(base);
      return;
    }
    const k = p.k;
    const cp = logps.chosenPerturbed;
    const rp = logps.rejectedPerturbed;
    if (!cp || !rp)
      throw new TrainerError("POLICY_INVALID", "token-dropout was requested but no perturbed sums came back");
    const perturbed = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      const tw = logps.chosenTokens[i]!;
      const tl = logps.rejectedTokens[i]!;
      for (let j = 0; j < k; j++) {
        const w = cp[i * k + j]!;
        const l = rp[i * k + j]!;
        if (stability.errorMargin === "policy") perturbed[i * k + j] = w / tw - l / tl;
        else {
          const dw = w - scored.refChosen[i]!;
          const dl = l - scored.refRejected[i]!;
          perturbed[i * k + j] = stability.lengthNormalize
            ? stability.beta * (dw / tw - dl / tl)
            : stability.beta * (dw - dl);
        }
      }
    }
    this.inner.refresh({ ...base, perturbed, k });
  }

  selectBatch(step: number): readonly number[] {
    return this.inner.nextBatch(step);
  }

  observeTrained(_step: number, _indices: readonly number[], _logps: BatchLogProbs): void {
    // spec v2: no "free μ update" from training passes; statistics come from refresh scoring
  }

  metrics(): Readonly<Record<string, number>> {
    const perBatch: Record<string, number> = {};
    for (const e of this.inner.metrics()) {
      if (e.type === "refresh") {
        const s: Record<string, number> = {
          "sage/refresh": e.refresh,
          "sage/pool_size": e.poolSize,
          "sage/eligible": e.eligible,
          "sage/filtered_unstable": e.unstableFraction,
          "sage/filtered_trivial": e.trivialFraction,
          "sage/forward_passes": e.forwardPassesTotal,
        };
        if (e.frontier !== null) {
          s["sage/frontier"] = e.frontier;
          // the highest stratum measured at this refresh: the frontier, or the one below it when
          // the frontier has just moved (a newly unlocked stratum is measured from the next refresh)
          for (let k = e.frontier; k >= 0; k--) {
            const c = e.competence[k];
            if (typeof c === "number") {
              s["sage/competence"] = c;
              break;
            }
          }
        }
        this.#sticky = s;
      } else {
        perBatch["sage/fallback"] = e.fallback;
        if (e.scoreQuantiles) {
          perBatch["sage/score_min"] = e.scoreQuantiles.min;
          perBatch["sage/score_q25"] = e.scoreQuantiles.q25;
          perBatch["sage/score_median"] = e.scoreQuantiles.median;
          perBatch["sage/score_q75"] = e.scoreQuantiles.q75;
          perBatch["sage/score_max"] = e.scoreQuantiles.max;
        }
      }
    }
    return { ...this.#sticky, ...perBatch };
  }

  getState(): AdapterState {
    return { inner: this.inner.state(), sticky: { ...this.#sticky } };
  }

  setState(state: unknown): void {
    const s = state as AdapterState;
    if (!s || typeof s !== "object" || !s.inner) {
      throw new TrainerError(
        "CHECKPOINT_INVALID",
        `curriculum selector state: expected {inner, sticky}; received ${describeValue(state)}`,
      );
    }
    this.#inner = selectorFromState(s.inner, this.#dataset);
    this.#sticky = { ...s.sticky };
    this.#pending = undefined;
  }
}
