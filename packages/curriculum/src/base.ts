import { quantiles, Rng } from "@sage/stability";
import type { CurriculumConfig, SelectorName } from "./config.js";
import type { PairMeta } from "./difficulty.js";
import { CurriculumError } from "./errors.js";
import type { ScoreQuantiles, SelectorEvent, SelectorState } from "./selector.js";

/** Shared plumbing of the selectors: config, dataset identity, rng, event queue, step checks. */
export abstract class SelectorBase {
  protected rng: Rng;
  protected events: SelectorEvent[] = [];
  protected lastBatchStep = -1;

  constructor(
    readonly name: SelectorName,
    readonly config: CurriculumConfig,
    protected readonly size: number,
    protected readonly pairs: readonly PairMeta[] | null,
    protected readonly fingerprint: number,
  ) {
    this.rng = new Rng(config.seed);
  }

  metrics(): SelectorEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  protected checkStep(step: number, what: string): void {
    if (!Number.isSafeInteger(step) || step < 0) {
      throw CurriculumError.mismatch("PROTOCOL_VIOLATED", `${what}(step)`, "a non-negative integer", step);
    }
  }

  protected checkBatchStep(step: number): void {
    this.checkStep(step, "nextBatch");
    if (step < this.lastBatchStep) {
      throw CurriculumError.mismatch(
        "PROTOCOL_VIOLATED",
        "nextBatch(step)",
        `a step ≥ the previous one (${this.lastBatchStep})`,
        step,
      );
    }
    this.lastBatchStep = step;
  }

  protected baseState(data: Record<string, unknown>): SelectorState {
    return {
      version: 1,
      name: this.name,
      config: this.config,
      datasetSize: this.size,
      datasetFingerprint: this.fingerprint,
      rng: this.rng.getState(),
      data,
    };
  }

  /** Restore the common part; subclasses restore `data`. */
  loadBase(state: SelectorState): void {
    if (state.version !== 1)
      throw CurriculumError.mismatch("STATE_INVALID", "state.version", "1", state.version);
    if (state.name !== this.name)
      throw CurriculumError.mismatch("STATE_INVALID", "state.name", `"${this.name}"`, state.name);
    if (state.datasetSize !== this.size || state.datasetFingerprint !== this.fingerprint) {
      throw CurriculumError.mismatch(
        "STATE_INVALID",
        "state dataset",
        `the dataset the state was taken with (${state.datasetSize} pairs, fingerprint ${state.datasetFingerprint})`,
        `${this.size} pairs, fingerprint ${this.fingerprint}`,
      );
    }
    this.rng = Rng.fromState(state.rng);
    const last = state.data.lastBatchStep;
    this.lastBatchStep = typeof last === "number" ? last : -1;
  }
}

export function scoreQuantilesOf(values: ArrayLike<number>): ScoreQuantiles | null {
  if (values.length === 0) return null;
  const [min, q25, median, q75, max] = quantiles(values, [0, 0.25, 0.5, 0.75, 1]) as [
    number,
    number,
    number,
    number,
    number,
  ];
  return { min, q25, median, q75, max };
}
