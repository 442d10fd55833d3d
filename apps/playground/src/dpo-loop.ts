import {
  type DpoTrainConfigInput,
  dpoLoss,
  learningRateAt,
  type PolicyLike,
  type PreferencePair,
  parseDpoTrainConfig,
  Rng,
  type SequenceLogProbs,
  type TrainingSelector,
} from "@sage/trainer";
import { PlaygroundError } from "./errors.js";

/** One step's numbers: TRL's names for the DPO metrics plus the selector's (`sage/frontier`, score quantiles…). */
export type StepRecord = Readonly<Record<string, number>> & { readonly step: number };

export interface BrowserDpoOptions {
  /** `@sage/trainer`'s DPO config (validated by its schema); `gradientAccumulation` and `gradSnrEvery` must stay 1 and 0. */
  readonly config: DpoTrainConfigInput;
  /** The trainable policy; before its first update it is also the reference. */
  readonly policy: PolicyLike;
  readonly selector: TrainingSelector;
  readonly pairs: readonly PreferencePair[];
  /** pass@1 (or any numbers) after every `config.evalEvery`-th step. */
  readonly evaluate?: (step: number) => Promise<Readonly<Record<string, number>>>;
  readonly onStep?: (record: StepRecord) => void;
  readonly onEval?: (step: number, record: Readonly<Record<string, number>>) => void;
}

/**
 * DPO with a selector, in memory: the browser's counterpart of `@sage/trainer`'s `runDpo` without
 * its run folder (no checkpoints, metrics file, reference cache or resume — nothing leaves the tab).
 * Every piece is the trainer's: config schema, reference pass, the selector protocol
 * (`nextScoringRequest` → `receiveScores` → `selectBatch`), `dpoLoss` with TRL's `rpo_alpha` NLL term,
 * `learningRateAt`, and the policy's `accumulateGradient`/`applyGradients` (AdamW on the GPU). A step
 * with a non-finite loss or gradient norm is skipped, as in `runDpo`.
 */
export async function runBrowserDpo(options: BrowserDpoOptions): Promise<StepRecord[]> {
  const config = parseDpoTrainConfig(options.config, "playground DPO config");
  const { policy, selector, pairs } = options;
  if (config.gradientAccumulation !== 1 || config.gradSnrEvery !== 0) {
    throw new PlaygroundError(
      "RUN_INVALID",
      "the in-browser loop runs one micro-batch per step: expected gradientAccumulation 1 and gradSnrEvery 0",
      { gradientAccumulation: config.gradientAccumulation, gradSnrEvery: config.gradSnrEvery },
    );
  }
  if (pairs.length === 0)
    throw new PlaygroundError("RUN_INVALID", "expected at least one preference pair", 0);
  const rng = new Rng(config.seed);
  const score = async (indices: readonly number[], dropout?: { k: number; rho: number; seed: number }) => {
    const parts: SequenceLogProbs[] = [];
    for (let s = 0; s < indices.length; s += config.scoringBatchSize) {
      const idx = indices.slice(s, s + config.scoringBatchSize);
      parts.push(
        await policy.sequenceLogProbs(
          idx.map((i) => pairs[i]!),
          dropout ? { dropout: { ...dropout, pairKeys: idx } } : undefined,
        ),
      );
    }
    return concatLogProbs(parts);
  };
  // The reference: the policy before its first update.
  const ref = await score(pairs.map((_, i) => i));
  selector.init({
    pairs,
    refChosen: ref.chosen,
    refRejected: ref.rejected,
    chosenTokens: ref.chosenTokens,
    rejectedTokens: ref.rejectedTokens,
    beta: config.beta,
    batchSize: config.batchSize,
    totalSteps: config.steps,
    rng,
  });
  const schedule = {
    type: config.lrSchedule,
    peak: config.learningRate,
    warmupSteps: config.warmupSteps,
    totalSteps: config.steps,
  };
  const records: StepRecord[] = [];
  for (let step = 0; step < config.steps; step++) {
    let rounds = 0;
    for (let req = selector.nextScoringRequest(step); req; req = selector.nextScoringRequest(step)) {
      if (++rounds > config.maxScoringRounds) {
        throw new PlaygroundError(
          "RUN_INVALID",
          `selector ${selector.name}: at most ${config.maxScoringRounds} scoring rounds per step`,
          rounds,
        );
      }
      const p = req.perturbation;
      if (p?.kind === "policy-dropout") {
        throw new PlaygroundError(
          "RUN_INVALID",
          "perturbations the trainer supports: token-dropout or history",
          p.kind,
        );
      }
      const logps = await score(req.indices, p?.kind === "token-dropout" ? p : undefined);
      selector.receiveScores({
        request: req,
        logps,
        refChosen: Float64Array.from(req.indices, (i) => ref.chosen[i]!),
        refRejected: Float64Array.from(req.indices, (i) => ref.rejected[i]!),
      });
    }
    const indices = [...selector.selectBatch(step, config.batchSize)];
    const n = indices.length;
    const rc = Float64Array.from(indices, (i) => ref.chosen[i]!);
    const rr = Float64Array.from(indices, (i) => ref.rejected[i]!);
    let nll = 0;
    const lp = await policy.accumulateGradient(
      indices.map((i) => pairs[i]!),
      (logps) => {
        const d = dpoLoss(logps.chosen, logps.rejected, rc, rr, config);
        for (let j = 0; j < n; j++) {
          d.dChosen[j] = d.dChosen[j]! / n;
          d.dRejected[j] = d.dRejected[j]! / n;
        }
        if (config.rpoAlpha > 0) {
          // TRL's rpo_alpha: α · NLL of the chosen responses, NLL = −Σ ℓθ(y_w) / Σ |y_w|
          let tokens = 0;
          let sum = 0;
          for (let j = 0; j < n; j++) {
            sum += logps.chosen[j]!;
            tokens += logps.chosenTokens[j]!;
          }
          nll = tokens > 0 ? -sum / tokens : 0;
          for (let j = 0; j < n; j++)
            d.dChosen[j] = d.dChosen[j]! - (tokens > 0 ? config.rpoAlpha / tokens : 0);
        }
        return { chosen: d.dChosen, rejected: d.dRejected };
      },
    );
    const d = dpoLoss(lp.chosen, lp.rejected, rc, rr, config);
    const learningRate = learningRateAt(step, schedule);
    const finite = [d.losses, lp.chosen, lp.rejected].every((a) => a.every(Number.isFinite));
    let gradNorm = Number.NaN;
    let applied = false;
    if (finite) {
      const r = await policy.applyGradients({ learningRate, maxGradNorm: config.maxGradNorm ?? undefined });
      gradNorm = r.gradNorm;
      applied = r.applied;
    } else {
      await policy.discardGradients();
    }
    selector.observeTrained(step, indices, lp);
    let correct = 0;
    for (let j = 0; j < n; j++) if (d.chosenRewards[j]! > d.rejectedRewards[j]!) correct++;
    const record: StepRecord = {
      step: step + 1,
      loss: mean(d.losses) + config.rpoAlpha * nll,
      "rewards/margins": mean(d.chosenRewards) - mean(d.rejectedRewards),
      "rewards/accuracies": correct / n,
      "logps/chosen": mean(lp.chosen),
      "logps/rejected": mean(lp.rejected),
      grad_norm: gradNorm,
      learning_rate: learningRate,
      skipped: applied ? 0 : 1,
      ...selector.metrics(),
    };
    records.push(record);
    options.onStep?.(record);
    if (options.evaluate && config.evalEvery > 0 && (step + 1) % config.evalEvery === 0) {
      options.onEval?.(step + 1, await options.evaluate(step + 1));
    }
  }
  return records;
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return a.length === 0 ? Number.NaN : s / a.length;
}

function concatLogProbs(parts: readonly SequenceLogProbs[]): SequenceLogProbs {
  const cat = <T extends Float64Array | Uint32Array>(
    make: (n: number) => T,
    get: (p: SequenceLogProbs) => T | undefined,
  ) => {
    const arrays = parts.map(get);
    if (arrays.some((a) => a === undefined)) return undefined;
    const out = make(arrays.reduce((s, a) => s + a!.length, 0));
    let off = 0;
    for (const a of arrays) {
      out.set(a!, off);
      off += a!.length;
    }
    return out;
  };
  const f = (n: number) => new Float64Array(n);
  const u = (n: number) => new Uint32Array(n);
  const chosenPerturbed = cat(f, (p) => p.chosenPerturbed);
  const rejectedPerturbed = cat(f, (p) => p.rejectedPerturbed);
  return {
    chosen: cat(f, (p) => p.chosen)!,
    rejected: cat(f, (p) => p.rejected)!,
    chosenTokens: cat(u, (p) => p.chosenTokens)!,
    rejectedTokens: cat(u, (p) => p.rejectedTokens)!,
    ...(chosenPerturbed && rejectedPerturbed ? { chosenPerturbed, rejectedPerturbed } : {}),
  };
}
