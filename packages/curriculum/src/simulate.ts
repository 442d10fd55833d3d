import {
  dpoMargin,
  emptyStatsColumns,
  type PairStatsBatch,
  Rng,
  type StabilityConfig,
  sigmoid,
  tokenDropoutErrorMargins,
} from "@sage/stability";
import type { CurriculumConfigInput, SelectorName } from "./config.js";
import { createSelector } from "./create.js";
import type { PairMeta } from "./difficulty.js";
import { CurriculumError } from "./errors.js";
import type { ScoringRequest, Selector, SelectorEvent } from "./selector.js";

/**
 * A synthetic "policy" for testing selectors (the spec's controlled simulation): a linear
 * log-linear policy over token features, trained by DPO with plain SGD.
 *
 * - A true preference direction `w* = e₀`. The reference policy `θ_ref = c·w* + v` knows part of it
 *   and holds a wrong belief `v ⊥ w*`; the policy starts at `θ = θ_ref`.
 * - Pair i has a latent difficulty `z ~ U(0,1)`: its chosen/rejected responses differ along `w*` by
 *   `a(z)` (large for easy pairs) and along a nuisance direction `n ~ N(0, σ_n(z)²)` ⊥ w* that grows
 *   with difficulty. Each response has 6–24 tokens with per-token features `±(a w* + n)/2 + noise`.
 * - Token log-prob `ℓ_t = b_t + θ·φ_t`; sequence log-probs are sums, so the implicit margin is
 *   `m = β (θ − θ_ref)·(Φ_w − Φ_l)` and token dropout perturbs real per-token terms.
 * - Optional label noise flips chosen/rejected of a fraction of the hardest half of training pairs.
 * - Accuracy = the policy's preference accuracy on held-out clean pairs: the fraction with
 *   length-normalised `ℓθ(y_w)/|y_w| > ℓθ(y_l)/|y_l|`. Reward accuracy (`m > 0`) is reported too.
 */
export interface SimulationConfig {
  readonly seed: number;
  readonly trainPairs: number;
  readonly evalPairs: number;
  readonly dim: number;
  readonly minTokens: number;
  readonly maxTokens: number;
  /** Reference's knowledge `c` of the true direction. */
  readonly refSignal: number;
  /** Norm of the reference's wrong belief `v`. */
  readonly refBias: number;
  /** Signal along w* of the easiest (z = 0) and hardest (z = 1) pair. */
  readonly signalEasy: number;
  readonly signalHard: number;
  /** Nuisance std of the easiest and hardest pair. */
  readonly nuisanceEasy: number;
  readonly nuisanceHard: number;
  /** Per-token feature noise std. */
  readonly tokenNoise: number;
  /** Fraction of the hardest half of training pairs whose labels are flipped. */
  readonly labelNoise: number;
  /** Pass-rate samples per prompt (difficulty input). */
  readonly passRateSamples: number;
  readonly steps: number;
  readonly learningRate: number;
  readonly evalEvery: number;
  /** Accuracy target for `stepsToTarget`. */
  readonly target: number;
}

export const DEFAULT_SIMULATION_CONFIG: SimulationConfig = Object.freeze({
  seed: 0,
  trainPairs: 4000,
  evalPairs: 1000,
  dim: 16,
  minTokens: 6,
  maxTokens: 24,
  refSignal: 1,
  refBias: 1.5,
  signalEasy: 1.5,
  signalHard: 0.2,
  nuisanceEasy: 0.3,
  nuisanceHard: 1.2,
  tokenNoise: 1,
  labelNoise: 0,
  passRateSamples: 8,
  steps: 300,
  learningRate: 0.15,
  evalEvery: 5,
  target: 0.9,
});

/** The generated task (features are kept per token so token dropout is meaningful). */
export interface SimulatedTask {
  readonly config: SimulationConfig;
  readonly thetaRef: Float64Array;
  /** Training pairs' metadata (pass rate, reference log-probs, token counts) for the selectors. */
  readonly meta: PairMeta[];
  readonly train: SimPairs;
  readonly evalSet: SimPairs;
}

/** Pairs in flat arrays: per response, token offsets into `features` (token-major, `dim` wide) and `base`. */
export interface SimPairs {
  readonly n: number;
  readonly latent: Float64Array;
  /** Token range of response r (r = 2i chosen, 2i+1 rejected): `[offset[r], offset[r+1])`. */
  readonly offset: Int32Array;
  readonly features: Float64Array;
  readonly base: Float64Array;
  /** Per-response feature sums Φ (`2n × dim`) and base sums. */
  readonly featSum: Float64Array;
  readonly baseSum: Float64Array;
}

function generatePairs(n: number, c: SimulationConfig, rng: Rng, noisy: boolean): SimPairs {
  const D = c.dim;
  const latent = new Float64Array(n);
  const lengths = new Int32Array(2 * n);
  for (let i = 0; i < n; i++) {
    latent[i] = rng.nextFloat();
    for (let s = 0; s < 2; s++) lengths[2 * i + s] = c.minTokens + rng.nextInt(c.maxTokens - c.minTokens + 1);
  }
  const offset = new Int32Array(2 * n + 1);
  for (let r = 0; r < 2 * n; r++) offset[r + 1] = offset[r]! + lengths[r]!;
  const total = offset[2 * n]!;
  const features = new Float64Array(total * D);
  const base = new Float64Array(total);
  const featSum = new Float64Array(2 * n * D);
  const baseSum = new Float64Array(2 * n);
  const dir = new Float64Array(D);
  // order pairs' latent difficulty so "hardest half" is well defined for label noise
  const sortedLatent = Float64Array.from(latent).sort();
  const median = sortedLatent[Math.floor(n / 2)] ?? 0;
  for (let i = 0; i < n; i++) {
    const z = latent[i]!;
    const a = c.signalEasy + (c.signalHard - c.signalEasy) * z;
    const sn = c.nuisanceEasy + (c.nuisanceHard - c.nuisanceEasy) * z;
    dir[0] = a;
    for (let d = 1; d < D; d++) dir[d] = sn * rng.nextNormal();
    const flip = noisy && z >= median && rng.nextFloat() < 2 * c.labelNoise;
    for (let s = 0; s < 2; s++) {
      const r = 2 * i + s;
      const sign = (s === 0) !== flip ? 0.5 : -0.5;
      for (let t = offset[r]!; t < offset[r + 1]!; t++) {
        base[t] = -2 + 0.3 * rng.nextNormal();
        baseSum[r] = baseSum[r]! + base[t]!;
        for (let d = 0; d < D; d++) {
          const f = sign * dir[d]! + c.tokenNoise * rng.nextNormal();
          features[t * D + d] = f;
          featSum[r * D + d] = featSum[r * D + d]! + f;
        }
      }
    }
  }
  return { n, latent, offset, features, base, featSum, baseSum };
}

/** Build the task for a seed (train set with optional label noise, clean eval set). */
export function generateTask(options: Partial<SimulationConfig> = {}): SimulatedTask {
  const c: SimulationConfig = { ...DEFAULT_SIMULATION_CONFIG, ...options };
  if (
    !(c.trainPairs >= 1 && c.evalPairs >= 1 && c.dim >= 2 && c.minTokens >= 1 && c.maxTokens >= c.minTokens)
  ) {
    throw CurriculumError.mismatch(
      "INVALID_CONFIG",
      "simulation config",
      "trainPairs, evalPairs ≥ 1, dim ≥ 2, 1 ≤ minTokens ≤ maxTokens",
      c,
    );
  }
  const rng = Rng.fromSeed(c.seed);
  const D = c.dim;
  const thetaRef = new Float64Array(D);
  thetaRef[0] = c.refSignal;
  let norm = 0;
  for (let d = 1; d < D; d++) {
    thetaRef[d] = rng.nextNormal();
    norm += thetaRef[d]! ** 2;
  }
  for (let d = 1; d < D; d++) thetaRef[d] = (thetaRef[d]! * c.refBias) / Math.sqrt(norm);
  const train = generatePairs(c.trainPairs, c, rng, c.labelNoise > 0);
  const evalSet = generatePairs(c.evalPairs, c, rng, false);
  const meta: PairMeta[] = [];
  for (let i = 0; i < train.n; i++) {
    let pass = 0;
    for (let s = 0; s < c.passRateSamples; s++) if (rng.nextFloat() < 1 - train.latent[i]!) pass++;
    meta.push({
      id: i,
      passRate: pass / c.passRateSamples,
      referenceChosen: seqLogp(train, 2 * i, thetaRef, D),
      referenceRejected: seqLogp(train, 2 * i + 1, thetaRef, D),
      chosenTokens: train.offset[2 * i + 1]! - train.offset[2 * i]!,
      rejectedTokens: train.offset[2 * i + 2]! - train.offset[2 * i + 1]!,
    });
  }
  return { config: c, thetaRef, meta, train, evalSet };
}

function dot(theta: Float64Array, a: Float64Array, o: number, D: number): number {
  let s = 0;
  for (let d = 0; d < D; d++) s += theta[d]! * a[o + d]!;
  return s;
}

/** Sequence log-prob of response r under θ. */
function seqLogp(p: SimPairs, r: number, theta: Float64Array, D: number): number {
  return p.baseSum[r]! + dot(theta, p.featSum, r * D, D);
}

function tokenLogps(p: SimPairs, r: number, theta: Float64Array, D: number): Float64Array {
  const a = p.offset[r]!;
  const b = p.offset[r + 1]!;
  const out = new Float64Array(b - a);
  for (let t = a; t < b; t++) out[t - a] = p.base[t]! + dot(theta, p.features, t * D, D);
  return out;
}

/**
 * The "trainer" side of the simulation: statistics for a scoring request under the current θ,
 * perturbed margins in the request's error-margin source.
 */
export function simulatedStats(
  task: SimulatedTask,
  theta: Float64Array,
  req: ScoringRequest,
  stability: StabilityConfig,
): PairStatsBatch {
  const p = task.train;
  const D = task.config.dim;
  const n = req.pairIds.length;
  const cols = emptyStatsColumns(n);
  const scheme = req.perturbation;
  const k = scheme && scheme.kind !== "history" ? scheme.k : 0;
  const perturbed = k > 0 ? new Float64Array(n * k) : null;
  for (let j = 0; j < n; j++) {
    const i = req.pairIds[j]!;
    cols.policyChosen[j] = seqLogp(p, 2 * i, theta, D);
    cols.policyRejected[j] = seqLogp(p, 2 * i + 1, theta, D);
    cols.referenceChosen[j] = seqLogp(p, 2 * i, task.thetaRef, D);
    cols.referenceRejected[j] = seqLogp(p, 2 * i + 1, task.thetaRef, D);
    cols.chosenTokens[j] = p.offset[2 * i + 1]! - p.offset[2 * i]!;
    cols.rejectedTokens[j] = p.offset[2 * i + 2]! - p.offset[2 * i + 1]!;
    if (perturbed === null || scheme === null) continue;
    if (scheme.kind === "token-dropout") {
      const e = tokenDropoutErrorMargins(
        {
          policyChosen: tokenLogps(p, 2 * i, theta, D),
          policyRejected: tokenLogps(p, 2 * i + 1, theta, D),
          referenceChosen: tokenLogps(p, 2 * i, task.thetaRef, D),
          referenceRejected: tokenLogps(p, 2 * i + 1, task.thetaRef, D),
        },
        {
          k,
          rho: scheme.rho,
          seed: scheme.seed,
          pairKey: i,
          source: req.errorMargin,
          beta: stability.beta,
          lengthNormalize: stability.lengthNormalize,
        },
      );
      perturbed.set(e, j * k);
    } else if (scheme.kind === "policy-dropout") {
      // policy dropout: K passes with multiplicative dropout on θ's coordinates (seeded per pass)
      for (let pass = 0; pass < k; pass++) {
        const r = Rng.fromSeed(scheme.seed + pass);
        const th = Float64Array.from(theta, (v) => (r.nextFloat() < 0.1 ? 0 : v / 0.9));
        const pw = seqLogp(p, 2 * i, th, D);
        const pl = seqLogp(p, 2 * i + 1, th, D);
        const tw = stability.lengthNormalize ? cols.chosenTokens[j]! : 1;
        const tl = stability.lengthNormalize ? cols.rejectedTokens[j]! : 1;
        perturbed[j * k + pass] =
          req.errorMargin === "policy"
            ? pw / cols.chosenTokens[j]! - pl / cols.rejectedTokens[j]!
            : dpoMargin(
                stability.beta,
                pw / tw,
                pl / tl,
                cols.referenceChosen[j]! / tw,
                cols.referenceRejected[j]! / tl,
              );
      }
    }
  }
  return perturbed === null ? { ids: req.pairIds, ...cols } : { ids: req.pairIds, ...cols, perturbed, k };
}

/** Accuracy (length-normalised policy preference) and reward accuracy (`m > 0`) on the eval set. */
export function evaluateTask(
  task: SimulatedTask,
  theta: Float64Array,
): { accuracy: number; rewardAccuracy: number } {
  const p = task.evalSet;
  const D = task.config.dim;
  let acc = 0;
  let racc = 0;
  for (let i = 0; i < p.n; i++) {
    const tw = p.offset[2 * i + 1]! - p.offset[2 * i]!;
    const tl = p.offset[2 * i + 2]! - p.offset[2 * i + 1]!;
    const e = seqLogp(p, 2 * i, theta, D) / tw - seqLogp(p, 2 * i + 1, theta, D) / tl;
    if (e > 0) acc++;
    let m = 0;
    for (let d = 0; d < D; d++)
      m += (theta[d]! - task.thetaRef[d]!) * (p.featSum[2 * i * D + d]! - p.featSum[(2 * i + 1) * D + d]!);
    if (m > 0) racc++;
  }
  return { accuracy: acc / p.n, rewardAccuracy: racc / p.n };
}

export interface SimulationResult {
  readonly selector: SelectorName;
  /** Steps at which the eval ran (0 = before training). */
  readonly evalSteps: number[];
  readonly accuracy: number[];
  readonly rewardAccuracy: number[];
  /** First eval step with accuracy ≥ target (null: never). */
  readonly stepsToTarget: number | null;
  readonly finalAccuracy: number;
  /** Cost model of the spec: training a pair ≈ 3 forward passes; scoring = requested passes. */
  readonly trainingPasses: number;
  readonly scoringPasses: number;
  readonly events: SelectorEvent[];
}

/**
 * Train the synthetic policy with DPO for `steps` steps (`options.sim`'s training fields — steps,
 * learningRate, evalEvery, target — apply even with a ready `task`), pairs chosen by `selector` (a name, built
 * with `selectorConfig` on the task's training pairs, or a ready `Selector` built on `task.meta`).
 * Deterministic for a seed.
 */
export function simulate(
  selector: SelectorName | Selector,
  options: {
    readonly sim?: Partial<SimulationConfig>;
    readonly selectorConfig?: CurriculumConfigInput;
    readonly task?: SimulatedTask;
  } = {},
): SimulationResult {
  const task = options.task ?? generateTask(options.sim);
  const c = { ...task.config, ...options.sim };
  const sel =
    typeof selector === "string"
      ? createSelector(selector, { dataset: task.meta, ...options.selectorConfig })
      : selector;
  const beta = sel.config.stability.beta;
  const D = c.dim;
  const theta = Float64Array.from(task.thetaRef);
  const grad = new Float64Array(D);
  const evalSteps: number[] = [];
  const accuracy: number[] = [];
  const rewardAccuracy: number[] = [];
  let stepsToTarget: number | null = null;
  let trainingPasses = 0;
  let scoringPasses = 0;
  const events: SelectorEvent[] = [];
  const record = (step: number) => {
    const r = evaluateTask(task, theta);
    evalSteps.push(step);
    accuracy.push(r.accuracy);
    rewardAccuracy.push(r.rewardAccuracy);
    if (stepsToTarget === null && r.accuracy >= c.target) stepsToTarget = step;
  };
  record(0);
  const p = task.train;
  for (let step = 0; step < c.steps; step++) {
    while (sel.needsRefresh(step)) {
      const req = sel.requestScoring();
      scoringPasses += req.forwardPasses;
      sel.refresh(simulatedStats(task, theta, req, sel.config.stability));
    }
    const ids = sel.nextBatch(step);
    grad.fill(0);
    const e = new Float64Array(ids.length);
    for (let j = 0; j < ids.length; j++) {
      const i = ids[j]!;
      let m = 0;
      for (let d = 0; d < D; d++)
        m += (theta[d]! - task.thetaRef[d]!) * (p.featSum[2 * i * D + d]! - p.featSum[(2 * i + 1) * D + d]!);
      m *= beta;
      const g = sigmoid(-m);
      for (let d = 0; d < D; d++)
        grad[d] = grad[d]! + g * (p.featSum[2 * i * D + d]! - p.featSum[(2 * i + 1) * D + d]!);
      const tw = p.offset[2 * i + 1]! - p.offset[2 * i]!;
      const tl = p.offset[2 * i + 2]! - p.offset[2 * i + 1]!;
      e[j] = seqLogp(p, 2 * i, theta, D) / tw - seqLogp(p, 2 * i + 1, theta, D) / tl;
    }
    // gradient descent on the mean DPO loss: ∇θ L = −β/B Σ σ(−m) (Φ_w − Φ_l)
    const scale = ids.length === 0 ? 0 : (c.learningRate * beta) / ids.length;
    for (let d = 0; d < D; d++) theta[d] = theta[d]! + scale * grad[d]!;
    trainingPasses += 3 * ids.length;
    sel.observeTrainingMargins(ids, e);
    for (const ev of sel.metrics()) events.push(ev);
    if ((step + 1) % c.evalEvery === 0 || step + 1 === c.steps) record(step + 1);
  }
  return {
    selector: sel.name,
    evalSteps,
    accuracy,
    rewardAccuracy,
    stepsToTarget,
    finalAccuracy: accuracy[accuracy.length - 1]!,
    trainingPasses,
    scoringPasses,
    events,
  };
}
