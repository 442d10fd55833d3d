import {
  checkDpoRun,
  type DpoStepMetrics,
  type DpoTrainConfigInput,
  type PolicyLike,
  type PreferencePair,
  parseDpoTrainConfig,
  Rng,
  referencePass,
  scoringRounds,
  startSelector,
  type TrainingSelector,
  trainStep,
} from "@sage/trainer";

/** One step's numbers: TRL's names for the DPO metrics plus the selector's (`sage/frontier`, score quantiles…). */
export type StepRecord = Readonly<Record<string, number>> & { readonly step: number };

export interface BrowserDpoOptions {
  /** `@sage/trainer`'s DPO config (validated by its schema). */
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
 * DPO with a selector, in memory: the stages of `@sage/trainer`'s `runDpo` (`referencePass`,
 * `startSelector`, then per step `scoringRounds` and `trainStep`) without its run folder (no
 * checkpoints, metrics file, reference cache or resume — nothing leaves the tab). What is the app's:
 * the records for the live charts (`skipped` as 0/1) and the evaluation cadence.
 */
export async function runBrowserDpo(options: BrowserDpoOptions): Promise<StepRecord[]> {
  const config = parseDpoTrainConfig(options.config, "playground DPO config");
  const { policy, selector, pairs } = options;
  checkDpoRun(config, policy, pairs, options.evaluate !== undefined);
  // The reference: the policy before its first update.
  const ref = await referencePass(policy, pairs, config);
  startSelector(selector, pairs, ref, config, new Rng(config.seed));
  const records: StepRecord[] = [];
  for (let step = 0; step < config.steps; step++) {
    await scoringRounds(policy, selector, pairs, ref, step, config);
    const { metrics } = await trainStep(policy, selector, pairs, ref, step, config);
    const record = stepRecord(step + 1, metrics);
    records.push(record);
    options.onStep?.(record);
    if (options.evaluate && config.evalEvery > 0 && (step + 1) % config.evalEvery === 0) {
      options.onEval?.(step + 1, await options.evaluate(step + 1));
    }
  }
  return records;
}

/** A step's metrics as chart numbers (booleans as 0/1). */
function stepRecord(step: number, metrics: DpoStepMetrics): StepRecord {
  const out: Record<string, number> = { step };
  for (const [k, v] of Object.entries(metrics)) out[k] = typeof v === "boolean" ? Number(v) : v;
  return out as StepRecord;
}
