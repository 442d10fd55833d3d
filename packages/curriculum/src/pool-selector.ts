import {
  baselineScores,
  deriveSeed,
  errorMargins,
  forwardPassesPerPair,
  implicitMargins,
  MarginHistory,
  type MarginHistoryState,
  type PairStatsBatch,
  type PerturbationScheme,
  scorePool,
  validateBatch,
} from "@sage/stability";
import { SelectorBase, scoreQuantilesOf } from "./base.js";
import { type CurriculumConfig, poolSizeOf, type SelectorName } from "./config.js";
import { estimateDifficulty, type PairMeta } from "./difficulty.js";
import { CurriculumError } from "./errors.js";
import { type AdvanceReason, advanceFrontier, rewardAccuracy } from "./frontier.js";
import { gumbelOrder } from "./gumbel.js";
import type { ScoringRequest, SelectorState } from "./selector.js";
import { buildStrata, type Strata } from "./strata.js";

/** How a pool-based selector behaves. */
export interface PoolMode {
  /** Draw the pool from the unlocked strata (frontier + replay), with competence and the frontier rule. */
  readonly curriculum: boolean;
  /** Score inside the pool: SAGE's score, a baseline score, or none (uniform inside the pool). */
  readonly scoring: "sage" | "hard-mining" | "small-margin" | "none";
  /** Gumbel temperature inside the pool. */
  readonly tau: number;
}

export function poolModeOf(name: SelectorName, c: CurriculumConfig): PoolMode | null {
  switch (name) {
    case "sage":
      return { curriculum: true, scoring: "sage", tau: c.tau };
    case "curriculum-only":
      return { curriculum: true, scoring: "none", tau: 0 };
    case "score-only":
      return { curriculum: false, scoring: "sage", tau: c.tau };
    case "hard-mining":
      return { curriculum: false, scoring: "hard-mining", tau: c.baselineTau };
    case "small-margin":
      return { curriculum: false, scoring: "small-margin", tau: c.baselineTau };
    default:
      return null;
  }
}

type Phase = "idle" | "probe" | "pool";

interface Pool {
  ids: Int32Array;
  score: Float64Array | null;
  mu: Float64Array | null;
  sd: Float64Array | null;
  /** 0 eligible, 1 trivial (fallback), 2 unstable (last resort). */
  cls: Uint8Array;
  order: Int32Array;
  cursor: number;
  eligible: number;
}

const NO_STEP = -1;

/**
 * The pool-based selectors: `sage`, `curriculum-only`, `score-only`, `hard-mining`, `small-margin`.
 * At each refresh, with a curriculum and `competence: "candidates"` (default): draw the pool from
 * the unlocked strata (half frontier, half replay) → score it (one pass per pair) → competence of
 * each unlocked stratum from its not-yet-trained candidates → frontier rule (a newly unlocked
 * stratum enters the pools from the next refresh on); with `competence: "probe"`: score the probes
 * of the unlocked strata → competence → frontier rule → draw and score the pool. Then filters →
 * Gumbel order. Batches are taken along that order, each pair at most once per refresh.
 */
export class PoolSelector extends SelectorBase {
  private readonly mode: PoolMode;
  private readonly strata: Strata | null;
  private readonly allPairs: Int32Array | null;
  private frontier = 0;
  private refreshesWithoutAdvance = 0;
  private competence: (number | null)[] = [];
  private lastAdvance: AdvanceReason = null;
  private refreshIndex = 0;
  private lastRefreshStep = NO_STEP;
  private phase: Phase = "idle";
  private pending: Int32Array | null = null;
  private pendingPasses = 0;
  private forwardPassesTotal = 0;
  private pool: Pool | null = null;
  private poolPos = new Map<number, number>();
  private readonly history: MarginHistory | null;
  /** 1 for every pair `nextBatch` has returned (curriculum selectors only). */
  private trained: Uint8Array | null = null;

  constructor(
    name: SelectorName,
    config: CurriculumConfig,
    size: number,
    pairs: readonly PairMeta[] | null,
    fingerprint: number,
  ) {
    super(name, config, size, pairs, fingerprint);
    const mode = poolModeOf(name, config);
    if (mode === null)
      throw CurriculumError.mismatch("CONFIG_INVALID", "pool selector name", "a pool-based selector", name);
    this.mode = mode;
    if (mode.curriculum) {
      if (pairs === null) {
        throw new CurriculumError(
          "DATA_INVALID",
          `selector "${name}" needs per-pair difficulty inputs (passRate, level or reference log-probs); received only a pair count`,
        );
      }
      const { difficulty } = estimateDifficulty(pairs, {
        levelMin: config.levelMin,
        levelMax: config.levelMax,
        lengthNormalize: config.stability.lengthNormalize,
      });
      const probeSize = config.competence === "probe" ? config.probeSize : 0;
      this.strata = buildStrata(difficulty, config.nStrata, probeSize, config.seed);
      this.trained = new Uint8Array(size);
      this.allPairs = null;
      this.competence = new Array(this.strata.count).fill(null);
    } else {
      this.strata = null;
      this.allPairs = Int32Array.from({ length: size }, (_, i) => i);
    }
    this.history =
      mode.scoring === "sage" && config.perturbation === "history"
        ? new MarginHistory(config.stability.k)
        : null;
  }

  /** Strata (null without a curriculum); read-only view for inspection and tests. */
  get strataInfo(): Strata | null {
    return this.strata;
  }

  /** Highest unlocked stratum (null without a curriculum). */
  get frontierStratum(): number | null {
    return this.strata ? this.frontier : null;
  }

  private eligibleRemaining(): number {
    const p = this.pool;
    return p === null ? 0 : Math.max(0, p.eligible - p.cursor);
  }

  private isDue(step: number): boolean {
    if (this.pool === null) return true;
    if (step - this.lastRefreshStep >= this.config.refreshEvery) return true;
    return this.eligibleRemaining() < this.config.batchSize && this.lastRefreshStep < step;
  }

  needsRefresh(step: number): boolean {
    this.checkStep(step, "needsRefresh");
    if (this.phase !== "idle") return true;
    if (!this.isDue(step)) return false;
    this.startRefresh(step);
    // a refresh that needs no forward passes (no probes, no pool scoring) completes at once
    return this.phase !== "idle";
  }

  private perturbation(): PerturbationScheme | null {
    if (this.mode.scoring !== "sage") return null;
    const k = this.config.stability.k;
    const seed = deriveSeed(this.config.seed, 0x70c3, this.refreshIndex);
    switch (this.config.perturbation) {
      case "token-dropout":
        return { kind: "token-dropout", k, rho: this.config.stability.rho, seed };
      case "policy-dropout":
        return { kind: "policy-dropout", k, seed };
      case "history":
        return { kind: "history", k };
      default:
        return null;
    }
  }

  private startRefresh(step: number): void {
    this.refreshIndex++;
    this.lastRefreshStep = step;
    this.pendingPasses = 0;
    this.lastAdvance = null;
    if (this.strata !== null && this.config.competence === "probe") {
      const probes: number[] = [];
      for (let s = 0; s <= this.frontier; s++) for (const i of this.strata.probes[s]!) probes.push(i);
      if (probes.length > 0) {
        this.phase = "probe";
        this.pending = Int32Array.from(probes);
        return;
      }
      this.applyCompetence(this.probeCompetence(new Map()));
    }
    this.drawPoolAndContinue();
  }

  /** `competence: "probe"`: reward accuracy of each unlocked stratum's probe set. */
  private probeCompetence(marginOf: Map<number, number>): (number | null)[] {
    const strata = this.strata!;
    const competence: (number | null)[] = new Array(strata.count).fill(null);
    for (let s = 0; s <= this.frontier; s++) {
      const probe = strata.probes[s]!;
      competence[s] = rewardAccuracy(Array.from(probe, (i) => marginOf.get(i)!));
    }
    return competence;
  }

  /**
   * `competence: "candidates"`: reward accuracy (`m > 0`) of each unlocked stratum's scored pool
   * candidates that have not been trained on yet; all of its scored candidates when every one has
   * been trained on; null when the pool holds none of the stratum.
   */
  private candidateCompetence(ids: Int32Array, margin: Float64Array): (number | null)[] {
    const strata = this.strata!;
    const trained = this.trained!;
    const fresh: number[][] = Array.from({ length: strata.count }, () => []);
    const all: number[][] = Array.from({ length: strata.count }, () => []);
    for (let i = 0; i < ids.length; i++) {
      const s = strata.stratumOf[ids[i]!]!;
      all[s]!.push(margin[i]!);
      if (trained[ids[i]!] === 0) fresh[s]!.push(margin[i]!);
    }
    const competence: (number | null)[] = new Array(strata.count).fill(null);
    for (let s = 0; s <= this.frontier; s++) {
      competence[s] = rewardAccuracy(fresh[s]!.length > 0 ? fresh[s]! : all[s]!);
    }
    return competence;
  }

  /** Record the competence of this refresh, then apply the frontier rule. */
  private applyCompetence(competence: (number | null)[]): void {
    const strata = this.strata!;
    this.competence = competence;
    const r = advanceFrontier(
      { frontier: this.frontier, refreshesWithoutAdvance: this.refreshesWithoutAdvance },
      competence,
      {
        nStrata: strata.count,
        cAdv: this.config.cAdv,
        maxRefreshes: this.config.maxRefreshes,
      },
    );
    this.frontier = r.state.frontier;
    this.refreshesWithoutAdvance = r.state.refreshesWithoutAdvance;
    this.lastAdvance = r.advanced;
  }

  /** Sample `k` of `from` without replacement (partial Fisher–Yates on a copy). */
  private sample(from: Int32Array, k: number): Int32Array {
    const a = Int32Array.from(from);
    const take = Math.min(k, a.length);
    for (let i = 0; i < take; i++) {
      const j = i + this.rng.int(a.length - i);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a.slice(0, take);
  }

  private drawPool(): Int32Array {
    const P = poolSizeOf(this.config);
    if (this.strata === null) return this.sample(this.allPairs!, P);
    const frontierPairs = this.strata.train[this.frontier]!;
    let lowerCount = 0;
    for (let s = 0; s < this.frontier; s++) lowerCount += this.strata.train[s]!.length;
    const lower = new Int32Array(lowerCount);
    let o = 0;
    for (let s = 0; s < this.frontier; s++) {
      lower.set(this.strata.train[s]!, o);
      o += this.strata.train[s]!.length;
    }
    const wantLower = this.frontier > 0 ? Math.floor(P / 2) : 0;
    let takeFrontier = Math.min(frontierPairs.length, P - Math.min(wantLower, lower.length));
    const takeLower = Math.min(lower.length, P - takeFrontier);
    takeFrontier = Math.min(frontierPairs.length, P - takeLower);
    const a = this.sample(frontierPairs, takeFrontier);
    const b = this.sample(lower, takeLower);
    const out = new Int32Array(a.length + b.length);
    out.set(a, 0);
    out.set(b, a.length);
    return out;
  }

  /** Whether the pool needs a scoring pass: to score it, or to measure competence on it. */
  private poolNeedsScoring(): boolean {
    return this.mode.scoring !== "none" || (this.strata !== null && this.config.competence === "candidates");
  }

  private drawPoolAndContinue(): void {
    const ids = this.drawPool();
    if (!this.poolNeedsScoring()) {
      this.finalizePool(ids, null, null, null, new Uint8Array(ids.length), 0, 0);
      return;
    }
    this.phase = "pool";
    this.pending = ids;
  }

  requestScoring(): ScoringRequest {
    if (this.phase === "idle" || this.pending === null) {
      throw new CurriculumError(
        "PROTOCOL_VIOLATED",
        "requestScoring: expected a refresh in progress (call needsRefresh(step) first), received none",
      );
    }
    const ids = Array.from(this.pending);
    const perturbation = this.phase === "pool" ? this.perturbation() : null;
    return {
      kind: this.phase,
      pairIds: ids,
      probeIds: this.phase === "probe" ? ids : [],
      perturbation,
      errorMargin: this.config.stability.errorMargin,
      forwardPasses: ids.length * forwardPassesPerPair(perturbation),
      refresh: this.refreshIndex,
      step: this.lastRefreshStep,
    };
  }

  private checkStats(stats: PairStatsBatch): PairStatsBatch {
    const pending = this.pending!;
    if (stats?.policyChosen?.length !== pending.length) {
      throw CurriculumError.mismatch(
        "SHAPE_MISMATCH",
        `refresh(stats) for the ${this.phase} request`,
        `${pending.length} rows (one per requested pair)`,
        stats?.policyChosen?.length,
      );
    }
    if (stats.ids !== undefined) {
      for (let i = 0; i < pending.length; i++) {
        if (stats.ids[i] !== pending[i]) {
          throw CurriculumError.mismatch(
            "SHAPE_MISMATCH",
            `refresh(stats).ids[${i}]`,
            `the requested pair ${pending[i]}`,
            stats.ids[i],
          );
        }
      }
    }
    const withIds: PairStatsBatch = stats.ids === undefined ? { ...stats, ids: Array.from(pending) } : stats;
    validateBatch(withIds);
    return withIds;
  }

  refresh(stats: PairStatsBatch): void {
    if (this.phase === "idle" || this.pending === null) {
      throw new CurriculumError(
        "PROTOCOL_VIOLATED",
        "refresh(stats): expected a pending scoring request, received stats with none pending",
      );
    }
    const batch = this.checkStats(stats);
    const pending = this.pending;
    if (this.phase === "probe") {
      const m = implicitMargins(batch, this.config.stability);
      const marginOf = new Map<number, number>();
      for (let i = 0; i < pending.length; i++) marginOf.set(pending[i]!, m[i]!);
      this.pendingPasses += pending.length;
      this.applyCompetence(this.probeCompetence(marginOf));
      this.pending = null;
      this.phase = "idle";
      this.drawPoolAndContinue();
      return;
    }
    const scheme = this.perturbation();
    this.pendingPasses += pending.length * forwardPassesPerPair(scheme);
    const stab = this.config.stability;
    if (this.strata !== null && this.config.competence === "candidates") {
      this.applyCompetence(this.candidateCompetence(pending, implicitMargins(batch, stab)));
    }
    if (this.mode.scoring === "none") {
      this.finalizePool(pending, null, null, null, new Uint8Array(pending.length), 0, 0);
    } else if (this.mode.scoring === "sage") {
      let scored: ReturnType<typeof scorePool>;
      if (scheme?.kind === "token-dropout" || scheme?.kind === "policy-dropout") {
        if (batch.perturbed === undefined || batch.k !== scheme.k) {
          throw CurriculumError.mismatch(
            "STATS_MISSING",
            `refresh(stats) for perturbation "${scheme.kind}"`,
            `perturbed error margins with k = ${scheme.k}`,
            batch.perturbed === undefined ? "no perturbed margins" : `k = ${batch.k}`,
          );
        }
        scored = scorePool(batch, stab);
      } else if (this.history !== null) {
        const e = errorMargins(batch, stab);
        scored = scorePool(batch, stab, this.history.recordAndSummarise(pending, e));
      } else {
        const { perturbed: _p, k: _k, ...plain } = batch;
        scored = scorePool(plain, stab);
      }
      const cls = new Uint8Array(pending.length);
      for (let i = 0; i < cls.length; i++) cls[i] = scored.unstable[i] ? 2 : scored.trivial[i] ? 1 : 0;
      this.finalizePool(
        pending,
        scored.score,
        scored.mu,
        scored.sd,
        cls,
        scored.unstableCount,
        scored.trivialCount,
      );
    } else {
      const kind = this.mode.scoring === "hard-mining" ? "hard-mining" : "small-margin";
      const { perturbed: _p, k: _k, ...plain } = batch;
      const score = baselineScores(kind, plain, stab);
      this.finalizePool(
        pending,
        score,
        errorMargins(plain, stab),
        null,
        new Uint8Array(pending.length),
        0,
        0,
      );
    }
  }

  private finalizePool(
    ids: Int32Array,
    score: Float64Array | null,
    mu: Float64Array | null,
    sd: Float64Array | null,
    cls: Uint8Array,
    unstableCount: number,
    trivialCount: number,
  ): void {
    const order = gumbelOrder(score, cls, this.mode.tau, this.rng);
    let eligible = 0;
    for (let i = 0; i < cls.length; i++) if (cls[i] === 0) eligible++;
    this.pool = { ids, score, mu, sd, cls, order, cursor: 0, eligible };
    this.poolPos = new Map();
    for (let i = 0; i < ids.length; i++) this.poolPos.set(ids[i]!, i);
    this.phase = "idle";
    this.pending = null;
    this.forwardPassesTotal += this.pendingPasses;
    const n = ids.length;
    this.events.push({
      type: "refresh",
      selector: this.name,
      step: this.lastRefreshStep,
      refresh: this.refreshIndex,
      frontier: this.frontierStratum,
      competence: [...this.competence],
      advanced: this.lastAdvance,
      poolSize: n,
      unstableFraction: n === 0 ? 0 : unstableCount / n,
      trivialFraction: n === 0 ? 0 : trivialCount / n,
      eligible,
      forwardPasses: this.pendingPasses,
      forwardPassesTotal: this.forwardPassesTotal,
    });
  }

  nextBatch(step: number): number[] {
    this.checkBatchStep(step);
    if (this.phase !== "idle" || this.isDue(step)) {
      throw new CurriculumError(
        "PROTOCOL_VIOLATED",
        `nextBatch(${step}): expected the refresh due at this step to be completed first (needsRefresh → requestScoring → refresh), received a call with it pending`,
      );
    }
    const p = this.pool!;
    const take = Math.min(this.config.batchSize, p.ids.length - p.cursor);
    const out: number[] = [];
    const scores: number[] = [];
    let fallback = 0;
    for (let j = 0; j < take; j++) {
      const pos = p.order[p.cursor + j]!;
      out.push(p.ids[pos]!);
      if (this.trained !== null) this.trained[p.ids[pos]!] = 1;
      if (p.score !== null) scores.push(p.score[pos]!);
      if (p.cls[pos] !== 0) fallback++;
    }
    p.cursor += take;
    this.events.push({
      type: "batch",
      selector: this.name,
      step,
      size: out.length,
      fallback,
      scoreQuantiles: p.score === null ? null : scoreQuantilesOf(scores),
      frontier: this.frontierStratum,
    });
    return out;
  }

  /** Current μ of a pool pair (undefined if not in the pool or not scored). */
  poolMu(id: number): number | undefined {
    const pos = this.poolPos.get(id);
    return pos === undefined ? undefined : this.pool?.mu?.[pos];
  }

  state(): SelectorState {
    const p = this.pool;
    return this.baseState({
      frontier: this.frontier,
      refreshesWithoutAdvance: this.refreshesWithoutAdvance,
      competence: [...this.competence],
      lastAdvance: this.lastAdvance,
      refreshIndex: this.refreshIndex,
      lastRefreshStep: this.lastRefreshStep,
      lastBatchStep: this.lastBatchStep,
      phase: this.phase,
      pending: this.pending === null ? null : Array.from(this.pending),
      pendingPasses: this.pendingPasses,
      forwardPassesTotal: this.forwardPassesTotal,
      pool:
        p === null
          ? null
          : {
              ids: Array.from(p.ids),
              score: p.score === null ? null : Array.from(p.score),
              mu: p.mu === null ? null : Array.from(p.mu),
              sd: p.sd === null ? null : Array.from(p.sd),
              cls: Array.from(p.cls),
              order: Array.from(p.order),
              cursor: p.cursor,
              eligible: p.eligible,
            },
      history: this.history === null ? null : this.history.toJSON(),
      trained: this.trained === null ? null : trainedIds(this.trained),
    });
  }

  /** Restore from `state()` (same dataset and config). */
  load(state: SelectorState): void {
    this.loadBase(state);
    const d = state.data as Record<string, unknown>;
    const num = (k: string): number => {
      const v = d[k];
      if (typeof v !== "number" || !Number.isFinite(v))
        throw CurriculumError.mismatch("STATE_INVALID", `state.data.${k}`, "a number", v);
      return v;
    };
    this.frontier = num("frontier");
    this.refreshesWithoutAdvance = num("refreshesWithoutAdvance");
    this.competence = (d.competence as (number | null)[]) ?? [];
    this.lastAdvance = (d.lastAdvance as AdvanceReason) ?? null;
    this.refreshIndex = num("refreshIndex");
    this.lastRefreshStep = num("lastRefreshStep");
    this.pendingPasses = num("pendingPasses");
    this.forwardPassesTotal = num("forwardPassesTotal");
    const phase = d.phase;
    if (phase !== "idle" && phase !== "probe" && phase !== "pool") {
      throw CurriculumError.mismatch("STATE_INVALID", "state.data.phase", '"idle", "probe" or "pool"', phase);
    }
    this.phase = phase;
    this.pending = Array.isArray(d.pending) ? Int32Array.from(d.pending as number[]) : null;
    const p = d.pool as {
      ids: number[];
      score: number[] | null;
      mu: number[] | null;
      sd: number[] | null;
      cls: number[];
      order: number[];
      cursor: number;
      eligible: number;
    } | null;
    if (p === null || p === undefined) {
      this.pool = null;
      this.poolPos = new Map();
    } else {
      if (!Array.isArray(p.ids) || !Array.isArray(p.order) || p.ids.length !== p.order.length) {
        throw CurriculumError.mismatch(
          "STATE_INVALID",
          "state.data.pool",
          "{ ids, order, … } of equal lengths",
          p,
        );
      }
      this.pool = {
        ids: Int32Array.from(p.ids),
        score: p.score === null ? null : Float64Array.from(p.score),
        mu: p.mu === null ? null : Float64Array.from(p.mu),
        sd: p.sd === null ? null : Float64Array.from(p.sd),
        cls: Uint8Array.from(p.cls),
        order: Int32Array.from(p.order),
        cursor: p.cursor,
        eligible: p.eligible,
      };
      this.poolPos = new Map();
      for (let i = 0; i < p.ids.length; i++) this.poolPos.set(p.ids[i]!, i);
    }
    if (this.trained !== null) {
      this.trained.fill(0);
      const t = d.trained;
      // states written before spec v2 carry no trained set
      if (t !== undefined && t !== null) {
        if (!Array.isArray(t)) {
          throw CurriculumError.mismatch(
            "STATE_INVALID",
            "state.data.trained",
            "an array of dataset indices",
            t,
          );
        }
        for (const id of t) {
          if (!Number.isInteger(id) || id < 0 || id >= this.size) {
            throw CurriculumError.mismatch(
              "STATE_INVALID",
              "state.data.trained entry",
              `a dataset index in [0, ${this.size})`,
              id,
            );
          }
          this.trained[id] = 1;
        }
      }
    }
    if (this.history !== null) {
      const h = MarginHistory.fromJSON(d.history as MarginHistoryState);
      // copy entries into the selector's own history
      for (const [key, values] of h.toJSON().entries) for (const v of values) this.history.record(key, v);
    }
  }
}

/** Dataset indices marked in a 0/1 array, ascending. */
function trainedIds(trained: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < trained.length; i++) if (trained[i] === 1) out.push(i);
  return out;
}
