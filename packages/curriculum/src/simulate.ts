import {
  dpoMargin,
  emptyStatsColumns,
  logSigmoid,
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
 * A synthetic "policy" for checking selectors fast and fairly (no GPU): a log-linear token model
 * trained by DPO with plain SGD.
 *
 * - **Tokens shaped like a language model's.** Each response has `minTokens..maxTokens` tokens.
 *   Token t's log-prob is `ℓ_t = log σ(u_t + θ·φ_t)`: most tokens are filler (large logit `u_t`,
 *   tiny features), so `ℓ_t ≈ −0.01`; a few decisive tokens per response (`decisiveMin..Max`) have
 *   `u_t ≈ 0` and carry the features, so they decide the sequence log-prob. Token dropout that
 *   drops a decisive token moves a margin a lot, as it would in a real model.
 * - **Ground truth is a latent direction.** A response's true quality is `Q = Σ_decisive w*·φ_t`.
 *   Pair i has a latent difficulty `z ~ U(0,1)`: its chosen/rejected decisive tokens lean `±a(z)/2`
 *   along `w*`, with per-token noise `tokenSignalNoise` (so a hard pair's tokens disagree and its
 *   margin flips sign under token dropout or as the policy moves) and a nuisance component ⊥ w*
 *   that grows with difficulty. The chosen response is the one with the higher realised `Q`.
 * - **Label noise.** Each training pair's labels are swapped with probability `2·labelNoise·z`
 *   (mean `labelNoise`, concentrated on hard pairs).
 * - **The reference policy** `θ_ref = refSignal·w* + v` knows part of `w*` and holds a wrong belief
 *   `v ⊥ w*` of norm `refBias`; the policy starts at `θ_ref`.
 * - **Accuracy is not the ranked margin.** It is pass@1 on held-out prompts: each has `candidates`
 *   responses, the correct one is the highest true `Q` (the latent direction, not a label), and the
 *   policy answers with its most likely response (highest sequence log-prob, not length-normalised).
 *   The selectors rank training pairs by the length-normalised policy margin of training pairs,
 *   labels included (noise and all); neither enters the accuracy.
 */
export interface SimulationConfig {
  readonly seed: number;
  readonly trainPairs: number;
  /** Held-out prompts for pass@1. */
  readonly evalPrompts: number;
  /** Candidate responses per held-out prompt. */
  readonly candidates: number;
  readonly dim: number;
  readonly minTokens: number;
  readonly maxTokens: number;
  /** Decisive tokens per response (uniform in [min, max]). */
  readonly decisiveMin: number;
  readonly decisiveMax: number;
  /** Mean and std of filler tokens' logit `u_t` (log σ(5) ≈ −0.007). */
  readonly fillerLogit: number;
  readonly fillerLogitStd: number;
  /** Std of filler tokens' features (each coordinate; uniform noise, as is the filler logit's). */
  readonly fillerFeatureStd: number;
  /** Std of decisive tokens' logit `u_t` (mean 0). */
  readonly decisiveLogitStd: number;
  /** Reference's knowledge `c` of the true direction. */
  readonly refSignal: number;
  /** Norm of the reference's wrong belief `v`. */
  readonly refBias: number;
  /** Lean `a` along w* of a decisive token, easiest (z = 0) and hardest (z = 1) pair. */
  readonly signalEasy: number;
  readonly signalHard: number;
  /** Per-decisive-token noise of the w* component. */
  readonly tokenSignalNoise: number;
  /** Nuisance std (⊥ w*) of a decisive token, easiest and hardest pair. */
  readonly nuisanceEasy: number;
  readonly nuisanceHard: number;
  /** Mean probability that a training pair's labels are swapped (`2·labelNoise·z` per pair). */
  readonly labelNoise: number;
  /** Pass-rate samples per prompt (difficulty input). */
  readonly passRateSamples: number;
  readonly steps: number;
  readonly learningRate: number;
  readonly evalEvery: number;
  /** Absolute pass@1 target for `stepsToTarget` (fixed on tuning seeds, see `docs/method.md`). */
  readonly target: number;
}

export const DEFAULT_SIMULATION_CONFIG: SimulationConfig = Object.freeze({
  seed: 0,
  trainPairs: 3000,
  evalPrompts: 400,
  candidates: 4,
  dim: 8,
  minTokens: 8,
  maxTokens: 24,
  decisiveMin: 1,
  decisiveMax: 3,
  fillerLogit: 5,
  fillerLogitStd: 1,
  fillerFeatureStd: 0.05,
  decisiveLogitStd: 1,
  refSignal: 0.5,
  refBias: 1.5,
  signalEasy: 2,
  signalHard: 0.3,
  tokenSignalNoise: 0.7,
  nuisanceEasy: 0.3,
  nuisanceHard: 1.2,
  labelNoise: 0.2,
  passRateSamples: 8,
  steps: 100,
  learningRate: 2,
  evalEvery: 5,
  target: 0.7,
});

/** Responses in flat arrays: response r's tokens are `[offset[r], offset[r+1])`. */
export interface SimResponses {
  readonly count: number;
  readonly offset: Int32Array;
  /** Logit `u_t` per token. */
  readonly logit: Float64Array;
  /** Features `φ_t`, token-major, `dim` wide. */
  readonly features: Float64Array;
  /** True quality `Q = Σ_decisive w*·φ_t` per response. */
  readonly quality: Float64Array;
}

/** Training pairs: response `2i` is the chosen one of pair i, `2i + 1` the rejected one (as labelled). */
export interface SimPairs {
  readonly n: number;
  readonly latent: Float64Array;
  /** 1 where the labels were swapped by label noise (the "chosen" response is the worse one). */
  readonly flipped: Uint8Array;
  readonly responses: SimResponses;
}

/** Held-out prompts: prompt j's candidates are responses `j·C .. j·C + C − 1`. */
export interface SimEvalSet {
  readonly prompts: number;
  readonly candidates: number;
  /** Index (0..C−1) of the best candidate by true quality. */
  readonly correct: Int32Array;
  readonly responses: SimResponses;
}

/** The generated task. */
export interface SimulatedTask {
  readonly config: SimulationConfig;
  /** The latent ground-truth direction w* (unit, = e₀). */
  readonly wStar: Float64Array;
  readonly thetaRef: Float64Array;
  /** Training pairs' metadata (pass rate, reference log-probs, token counts) for the selectors. */
  readonly meta: PairMeta[];
  readonly train: SimPairs;
  /** Reference sequence log-probs of the training responses (cached, as a trainer would). */
  readonly refLogp: Float64Array;
  readonly evalSet: SimEvalSet;
}

const SQRT3 = Math.sqrt(3);

/** Build responses; `lean[r]` is response r's mean w* component per decisive token, `z[r]` its difficulty. */
function generateResponses(lean: Float64Array, z: Float64Array, c: SimulationConfig, rng: Rng): SimResponses {
  const count = lean.length;
  const D = c.dim;
  const lengths = new Int32Array(count);
  for (let r = 0; r < count; r++) lengths[r] = c.minTokens + rng.int(c.maxTokens - c.minTokens + 1);
  const offset = new Int32Array(count + 1);
  for (let r = 0; r < count; r++) offset[r + 1] = offset[r]! + lengths[r]!;
  const total = offset[count]!;
  const logit = new Float64Array(total);
  const features = new Float64Array(total * D);
  const quality = new Float64Array(count);
  for (let r = 0; r < count; r++) {
    const len = lengths[r]!;
    const nDecisive = Math.min(len, c.decisiveMin + rng.int(c.decisiveMax - c.decisiveMin + 1));
    const sn = c.nuisanceEasy + (c.nuisanceHard - c.nuisanceEasy) * z[r]!;
    // decisive positions: a seeded choice of nDecisive distinct positions
    const positions = new Set<number>();
    while (positions.size < nDecisive) positions.add(rng.int(len));
    for (let j = 0; j < len; j++) {
      const t = offset[r]! + j;
      const o = t * D;
      if (positions.has(j)) {
        logit[t] = c.decisiveLogitStd * rng.normal();
        const w = lean[r]! + c.tokenSignalNoise * rng.normal();
        features[o] = w;
        quality[r] = quality[r]! + w;
        for (let d = 1; d < D; d++) features[o + d] = sn * rng.normal();
      } else {
        // filler: uniform noise with the configured std (cheaper than normal draws; only the
        // first two moments matter for these near-zero terms)
        logit[t] = c.fillerLogit + c.fillerLogitStd * SQRT3 * (2 * rng.next() - 1);
        for (let d = 0; d < D; d++) features[o + d] = c.fillerFeatureStd * SQRT3 * (2 * rng.next() - 1);
      }
    }
  }
  return { count, offset, logit, features, quality };
}

function checkConfig(c: SimulationConfig): void {
  const ok =
    c.trainPairs >= 1 &&
    c.evalPrompts >= 1 &&
    c.candidates >= 2 &&
    c.dim >= 2 &&
    c.minTokens >= 1 &&
    c.maxTokens >= c.minTokens &&
    c.decisiveMin >= 1 &&
    c.decisiveMax >= c.decisiveMin &&
    c.labelNoise >= 0 &&
    c.labelNoise <= 0.5 &&
    c.steps >= 1 &&
    c.evalEvery >= 1;
  if (!ok) {
    throw CurriculumError.mismatch(
      "CONFIG_INVALID",
      "simulation config",
      "trainPairs, evalPrompts, steps, evalEvery ≥ 1, candidates ≥ 2, dim ≥ 2, 1 ≤ minTokens ≤ maxTokens, 1 ≤ decisiveMin ≤ decisiveMax, labelNoise in [0, 0.5]",
      c,
    );
  }
}

/** Build the task for a seed (training pairs with label noise, clean held-out prompts). */
export function generateTask(options: Partial<SimulationConfig> = {}): SimulatedTask {
  const c: SimulationConfig = { ...DEFAULT_SIMULATION_CONFIG, ...options };
  checkConfig(c);
  const rng = new Rng(c.seed);
  const D = c.dim;
  const wStar = new Float64Array(D);
  wStar[0] = 1;
  const thetaRef = new Float64Array(D);
  thetaRef[0] = c.refSignal;
  let norm = 0;
  for (let d = 1; d < D; d++) {
    thetaRef[d] = rng.normal();
    norm += thetaRef[d]! ** 2;
  }
  for (let d = 1; d < D; d++) thetaRef[d] = (thetaRef[d]! * c.refBias) / Math.sqrt(norm);
  const signal = (z: number) => c.signalEasy + (c.signalHard - c.signalEasy) * z;

  // training pairs
  const n = c.trainPairs;
  const latent = new Float64Array(n);
  for (let i = 0; i < n; i++) latent[i] = rng.next();
  const lean = new Float64Array(2 * n);
  const zr = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const a = signal(latent[i]!);
    lean[2 * i] = a / 2;
    lean[2 * i + 1] = -a / 2;
    zr[2 * i] = latent[i]!;
    zr[2 * i + 1] = latent[i]!;
  }
  const raw = generateResponses(lean, zr, c, rng);
  // chosen = higher realised quality, then label noise swaps with probability 2·labelNoise·z
  const flipped = new Uint8Array(n);
  const swap = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const better = raw.quality[2 * i]! >= raw.quality[2 * i + 1]! ? 0 : 1;
    const flip = rng.next() < 2 * c.labelNoise * latent[i]! ? 1 : 0;
    flipped[i] = flip;
    swap[i] = better ^ flip;
  }
  const responses = reorder(raw, swap, D);
  const train: SimPairs = { n, latent, flipped, responses };
  const refLogp = new Float64Array(2 * n);
  for (let r = 0; r < 2 * n; r++) refLogp[r] = seqLogp(responses, r, thetaRef, D);

  // held-out prompts: one candidate leans +a/2, the others −a/2; correct = highest realised Q
  const P = c.evalPrompts;
  const C = c.candidates;
  const eLean = new Float64Array(P * C);
  const eZ = new Float64Array(P * C);
  for (let j = 0; j < P; j++) {
    const z = rng.next();
    const good = rng.int(C);
    for (let k = 0; k < C; k++) {
      eLean[j * C + k] = (k === good ? 0.5 : -0.5) * signal(z);
      eZ[j * C + k] = z;
    }
  }
  const eResp = generateResponses(eLean, eZ, c, rng);
  const correct = new Int32Array(P);
  for (let j = 0; j < P; j++) {
    let best = 0;
    for (let k = 1; k < C; k++) if (eResp.quality[j * C + k]! > eResp.quality[j * C + best]!) best = k;
    correct[j] = best;
  }

  const meta: PairMeta[] = [];
  for (let i = 0; i < n; i++) {
    let pass = 0;
    for (let s = 0; s < c.passRateSamples; s++) if (rng.next() < 1 - latent[i]!) pass++;
    meta.push({
      id: i,
      passRate: pass / c.passRateSamples,
      referenceChosen: refLogp[2 * i]!,
      referenceRejected: refLogp[2 * i + 1]!,
      chosenTokens: tokens(responses, 2 * i),
      rejectedTokens: tokens(responses, 2 * i + 1),
    });
  }
  return {
    config: c,
    wStar,
    thetaRef,
    meta,
    train,
    refLogp,
    evalSet: { prompts: P, candidates: C, correct, responses: eResp },
  };
}

/** Swap the two responses of pair i where `swap[i]` is 1. */
function reorder(raw: SimResponses, swap: Uint8Array, D: number): SimResponses {
  const count = raw.count;
  const src = new Int32Array(count);
  for (let i = 0; i < swap.length; i++) {
    src[2 * i] = swap[i] ? 2 * i + 1 : 2 * i;
    src[2 * i + 1] = swap[i] ? 2 * i : 2 * i + 1;
  }
  const offset = new Int32Array(count + 1);
  for (let r = 0; r < count; r++) offset[r + 1] = offset[r]! + tokens(raw, src[r]!);
  const logit = new Float64Array(raw.logit.length);
  const features = new Float64Array(raw.features.length);
  const quality = new Float64Array(count);
  for (let r = 0; r < count; r++) {
    const a = raw.offset[src[r]!]!;
    const b = raw.offset[src[r]! + 1]!;
    logit.set(raw.logit.subarray(a, b), offset[r]!);
    features.set(raw.features.subarray(a * D, b * D), offset[r]! * D);
    quality[r] = raw.quality[src[r]!]!;
  }
  return { count, offset, logit, features, quality };
}

function tokens(p: SimResponses, r: number): number {
  return p.offset[r + 1]! - p.offset[r]!;
}

function tokenLogit(p: SimResponses, t: number, theta: Float64Array, D: number): number {
  let x = p.logit[t]!;
  const o = t * D;
  for (let d = 0; d < D; d++) x += theta[d]! * p.features[o + d]!;
  return x;
}

/** Sequence log-prob `Σ_t log σ(u_t + θ·φ_t)` of response r. */
function seqLogp(p: SimResponses, r: number, theta: Float64Array, D: number): number {
  let s = 0;
  for (let t = p.offset[r]!; t < p.offset[r + 1]!; t++) s += logSigmoid(tokenLogit(p, t, theta, D));
  return s;
}

function sum(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

function tokenLogps(p: SimResponses, r: number, theta: Float64Array, D: number): Float64Array {
  const a = p.offset[r]!;
  const out = new Float64Array(p.offset[r + 1]! - a);
  for (let t = a; t < p.offset[r + 1]!; t++) out[t - a] = logSigmoid(tokenLogit(p, t, theta, D));
  return out;
}

/** `out += scale · ∇θ ℓθ(response r)`, with `∇ℓ = Σ_t σ(−(u_t + θ·φ_t)) φ_t`. */
function addSeqGrad(
  p: SimResponses,
  r: number,
  theta: Float64Array,
  D: number,
  scale: number,
  out: Float64Array,
) {
  for (let t = p.offset[r]!; t < p.offset[r + 1]!; t++) {
    const g = scale * sigmoid(-tokenLogit(p, t, theta, D));
    const o = t * D;
    for (let d = 0; d < D; d++) out[d] = out[d]! + g * p.features[o + d]!;
  }
}

/**
 * The "trainer" side of the simulation: statistics for a scoring request under the current θ,
 * perturbed margins in the request's error-margin source (one forward pass per pair for token
 * dropout: the masks reuse its per-token log-probs).
 */
export function simulatedStats(
  task: SimulatedTask,
  theta: Float64Array,
  req: ScoringRequest,
  stability: StabilityConfig,
): PairStatsBatch {
  const p = task.train.responses;
  const D = task.config.dim;
  const n = req.pairIds.length;
  const cols = emptyStatsColumns(n);
  const scheme = req.perturbation;
  const k = scheme && scheme.kind !== "history" ? scheme.k : 0;
  const perturbed = k > 0 ? new Float64Array(n * k) : null;
  for (let j = 0; j < n; j++) {
    const i = req.pairIds[j]!;
    const w = 2 * i;
    const l = 2 * i + 1;
    const tw = tokenLogps(p, w, theta, D);
    const tl = tokenLogps(p, l, theta, D);
    cols.policyChosen[j] = sum(tw);
    cols.policyRejected[j] = sum(tl);
    cols.referenceChosen[j] = task.refLogp[w]!;
    cols.referenceRejected[j] = task.refLogp[l]!;
    cols.chosenTokens[j] = tokens(p, w);
    cols.rejectedTokens[j] = tokens(p, l);
    if (perturbed === null || scheme === null) continue;
    if (scheme.kind === "token-dropout") {
      // reference per-token log-probs are needed only for the implicit source
      const implicit = req.errorMargin === "implicit";
      const e = tokenDropoutErrorMargins(
        {
          policyChosen: tw,
          policyRejected: tl,
          ...(implicit
            ? {
                referenceChosen: tokenLogps(p, w, task.thetaRef, D),
                referenceRejected: tokenLogps(p, l, task.thetaRef, D),
              }
            : {}),
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
      // policy dropout: K passes with dropout on θ's coordinates (seeded per pass)
      for (let pass = 0; pass < k; pass++) {
        const r = new Rng(scheme.seed + pass);
        const th = Float64Array.from(theta, (v) => (r.next() < 0.1 ? 0 : v / 0.9));
        const pw = seqLogp(p, w, th, D);
        const pl = seqLogp(p, l, th, D);
        const nw = stability.lengthNormalize ? cols.chosenTokens[j]! : 1;
        const nl = stability.lengthNormalize ? cols.rejectedTokens[j]! : 1;
        perturbed[j * k + pass] =
          req.errorMargin === "policy"
            ? pw / cols.chosenTokens[j]! - pl / cols.rejectedTokens[j]!
            : dpoMargin(
                stability.beta,
                pw / nw,
                pl / nl,
                cols.referenceChosen[j]! / nw,
                cols.referenceRejected[j]! / nl,
              );
      }
    }
  }
  return perturbed === null ? { ids: req.pairIds, ...cols } : { ids: req.pairIds, ...cols, perturbed, k };
}

/**
 * pass@1 on the held-out prompts: the fraction where the policy's most likely candidate (highest
 * sequence log-prob) is the one with the highest true quality.
 */
export function evaluateTask(task: SimulatedTask, theta: Float64Array): { accuracy: number } {
  const e = task.evalSet;
  const D = task.config.dim;
  let correct = 0;
  for (let j = 0; j < e.prompts; j++) {
    let best = 0;
    let bestLp = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < e.candidates; k++) {
      const lp = seqLogp(e.responses, j * e.candidates + k, theta, D);
      if (lp > bestLp) {
        bestLp = lp;
        best = k;
      }
    }
    if (best === e.correct[j]) correct++;
  }
  return { accuracy: correct / e.prompts };
}

export interface SimulationResult {
  readonly selector: SelectorName;
  /** Steps at which the eval ran (0 = before training). */
  readonly evalSteps: number[];
  /** Held-out pass@1 at each eval step. */
  readonly accuracy: number[];
  /** First eval step with accuracy ≥ target (null: never within `steps`). */
  readonly stepsToTarget: number | null;
  readonly finalAccuracy: number;
  /** Mean accuracy over the eval steps after step 0 (area under the curve ÷ steps). */
  readonly meanAccuracy: number;
  /** Cost model of the spec: training a pair ≈ 3 forward passes; scoring = requested passes. */
  readonly trainingPasses: number;
  readonly scoringPasses: number;
  /** Distinct training pairs trained on. */
  readonly distinctPairs: number;
  /** Fraction of trained pair-steps whose labels were swapped by label noise. */
  readonly noisyShare: number;
  readonly events: SelectorEvent[];
}

/**
 * Train the synthetic policy with DPO for `steps` steps (`options.sim`'s training fields — steps,
 * learningRate, evalEvery, target — apply even with a ready `task`), pairs chosen by `selector` (a
 * name, built with `selectorConfig` on the task's training pairs, or a ready `Selector` built on
 * `task.meta`). Deterministic for a seed.
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
  const c: SimulationConfig = { ...task.config, ...options.sim };
  checkConfig(c);
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
  let stepsToTarget: number | null = null;
  let trainingPasses = 0;
  let scoringPasses = 0;
  let noisy = 0;
  let trainedPairSteps = 0;
  const seen = new Uint8Array(task.train.n);
  const events: SelectorEvent[] = [];
  const record = (step: number) => {
    const r = evaluateTask(task, theta);
    evalSteps.push(step);
    accuracy.push(r.accuracy);
    if (stepsToTarget === null && r.accuracy >= c.target) stepsToTarget = step;
  };
  record(0);
  const p = task.train.responses;
  for (let step = 0; step < c.steps; step++) {
    while (sel.needsRefresh(step)) {
      const req = sel.requestScoring();
      scoringPasses += req.forwardPasses;
      sel.refresh(simulatedStats(task, theta, req, sel.config.stability));
    }
    const ids = sel.nextBatch(step);
    grad.fill(0);
    for (const i of ids) {
      const w = 2 * i;
      const l = 2 * i + 1;
      const m =
        beta * (seqLogp(p, w, theta, D) - task.refLogp[w]! - seqLogp(p, l, theta, D) + task.refLogp[l]!);
      const g = sigmoid(-m);
      // −∇θ L = β σ(−m) (∇ℓθ(y_w) − ∇ℓθ(y_l))
      addSeqGrad(p, w, theta, D, g, grad);
      addSeqGrad(p, l, theta, D, -g, grad);
      noisy += task.train.flipped[i]!;
      seen[i] = 1;
    }
    trainedPairSteps += ids.length;
    const scale = ids.length === 0 ? 0 : (c.learningRate * beta) / ids.length;
    for (let d = 0; d < D; d++) theta[d] = theta[d]! + scale * grad[d]!;
    trainingPasses += 3 * ids.length;
    for (const ev of sel.metrics()) events.push(ev);
    if ((step + 1) % c.evalEvery === 0 || step + 1 === c.steps) record(step + 1);
  }
  let distinctPairs = 0;
  for (const v of seen) distinctPairs += v;
  let sum = 0;
  for (let j = 1; j < accuracy.length; j++) sum += accuracy[j]!;
  return {
    selector: sel.name,
    evalSteps,
    accuracy,
    stepsToTarget,
    finalAccuracy: accuracy[accuracy.length - 1]!,
    meanAccuracy: accuracy.length > 1 ? sum / (accuracy.length - 1) : accuracy[0]!,
    trainingPasses,
    scoringPasses,
    distinctPairs,
    noisyShare: trainedPairSteps === 0 ? 0 : noisy / trainedPairSteps,
    events,
  };
}

/** One arm of a simulation study: a selector with its config. */
export interface SimulationArm {
  readonly label: string;
  readonly selector: SelectorName;
  readonly config?: CurriculumConfigInput;
}

/** Mean and two-sided 95% Student-t interval of a sample. */
export interface MeanInterval {
  readonly mean: number;
  readonly lo: number;
  readonly hi: number;
  readonly n: number;
}

/** `t_{0.975, df}` for df = 1..30 (standard table, 3 decimals). */
const T975_TABLE = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/**
 * Two-sided 95% Student-t quantile `t_{0.975, df}`: the table for df ≤ 30, beyond it the
 * Cornish–Fisher expansion around the normal quantile (error < 1e-3 there).
 */
export function t975(df: number): number {
  if (!Number.isInteger(df) || df < 1) return Number.NaN;
  if (df <= T975_TABLE.length) return T975_TABLE[df - 1]!;
  const z = 1.959963984540054;
  return (
    z +
    (z ** 3 + z) / (4 * df) +
    (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2) +
    (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * df ** 3)
  );
}

/** Mean with a 95% t-interval (`lo = hi = mean` for a single value). */
export function meanInterval(values: readonly number[]): MeanInterval {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, lo: Number.NaN, hi: Number.NaN, n };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, lo: mean, hi: mean, n };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  const half = t975(n - 1) * Math.sqrt(variance / n);
  return { mean, lo: mean - half, hi: mean + half, n };
}

/** Per-arm results of `simulationStudy`. */
export interface ArmSummary {
  readonly label: string;
  /** Steps to the target per seed; a run that never reached it counts as `steps` (censored). */
  readonly stepsToTarget: MeanInterval;
  /** Seeds whose run reached the target. */
  readonly reached: number;
  readonly finalAccuracy: MeanInterval;
  readonly meanAccuracy: MeanInterval;
  /** Paired differences (this arm − the first arm, same seed and task). */
  readonly stepsVsFirst: MeanInterval;
  readonly finalVsFirst: MeanInterval;
  readonly meanAccuracyVsFirst: MeanInterval;
  readonly noisyShare: MeanInterval;
  readonly scoringPasses: MeanInterval;
  readonly trainingPasses: number;
  /** Per-seed results, in seed order. */
  readonly runs: readonly SimulationResult[];
}

/**
 * Run every arm on the same task for each seed (the task and each selector are seeded with the
 * seed) and summarise: steps to the target (censored at `steps`), final and mean accuracy, each
 * with a 95% t-interval over seeds, and paired differences against the first arm.
 */
export function simulationStudy(
  arms: readonly SimulationArm[],
  options: { readonly seeds: readonly number[]; readonly sim?: Partial<SimulationConfig> },
): { initialAccuracy: MeanInterval; arms: ArmSummary[] } {
  if (arms.length === 0 || options.seeds.length === 0) {
    throw CurriculumError.mismatch("CONFIG_INVALID", "simulationStudy", "at least one arm and one seed", {
      arms: arms.length,
      seeds: options.seeds.length,
    });
  }
  const runs: SimulationResult[][] = arms.map(() => []);
  const initial: number[] = [];
  for (const seed of options.seeds) {
    const task = generateTask({ ...options.sim, seed });
    arms.forEach((arm, a) => {
      const r = simulate(arm.selector, { task, selectorConfig: { ...arm.config, seed } });
      runs[a]!.push(r);
      if (a === 0) initial.push(r.accuracy[0]!);
    });
  }
  const steps = { ...DEFAULT_SIMULATION_CONFIG, ...options.sim }.steps;
  const stepsOf = (r: SimulationResult) => r.stepsToTarget ?? steps;
  const first = runs[0]!;
  const summaries = arms.map((arm, a): ArmSummary => {
    const rs = runs[a]!;
    const diff = (f: (r: SimulationResult) => number) => meanInterval(rs.map((r, j) => f(r) - f(first[j]!)));
    return {
      label: arm.label,
      stepsToTarget: meanInterval(rs.map(stepsOf)),
      reached: rs.filter((r) => r.stepsToTarget !== null).length,
      finalAccuracy: meanInterval(rs.map((r) => r.finalAccuracy)),
      meanAccuracy: meanInterval(rs.map((r) => r.meanAccuracy)),
      stepsVsFirst: diff(stepsOf),
      finalVsFirst: diff((r) => r.finalAccuracy),
      meanAccuracyVsFirst: diff((r) => r.meanAccuracy),
      noisyShare: meanInterval(rs.map((r) => r.noisyShare)),
      scoringPasses: meanInterval(rs.map((r) => r.scoringPasses)),
      trainingPasses: rs[0]!.trainingPasses,
      runs: rs,
    };
  });
  return { initialAccuracy: meanInterval(initial), arms: summaries };
}
