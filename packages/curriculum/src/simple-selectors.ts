import type { PairStatsBatch } from "@sage/stability";
import { softplus } from "@sage/stability";
import { SelectorBase } from "./base.js";
import type { CurriculumConfig, SelectorName } from "./config.js";
import { type PairMeta, referencePreferenceOf } from "./difficulty.js";
import { EpochCursor, type EpochCursorState } from "./epoch.js";
import { CurriculumError } from "./errors.js";
import type { ScoringRequest, SelectorState } from "./selector.js";

/** Selectors that never ask for forward passes. */
abstract class NoScoringSelector extends SelectorBase {
  needsRefresh(step: number): boolean {
    this.checkStep(step, "needsRefresh");
    return false;
  }

  requestScoring(): ScoringRequest {
    throw new CurriculumError(
      "PROTOCOL_VIOLATED",
      `requestScoring: selector "${this.name}" never needs scoring (needsRefresh is always false)`,
    );
  }

  refresh(_stats: PairStatsBatch): void {
    throw new CurriculumError(
      "PROTOCOL_VIOLATED",
      `refresh: selector "${this.name}" never needs scoring, received stats`,
    );
  }

  protected pushBatch(step: number, size: number): void {
    this.events.push({
      type: "batch",
      selector: this.name,
      step,
      size,
      fallback: 0,
      scoreQuantiles: null,
      frontier: null,
    });
  }
}

/**
 * `uniform` (standard DPO: epochs over all pairs, reshuffled each epoch) and `selective` (the
 * easiest `selectiveKeep` fraction by reference loss `−log σ(Δref)`, easiest first, epoch after epoch).
 */
export class EpochSelector extends NoScoringSelector {
  private readonly cursor: EpochCursor;

  constructor(
    name: SelectorName,
    config: CurriculumConfig,
    size: number,
    pairs: readonly PairMeta[] | null,
    fingerprint: number,
  ) {
    super(name, config, size, pairs, fingerprint);
    if (name === "uniform") {
      this.cursor = new EpochCursor(
        Int32Array.from({ length: size }, (_, i) => i),
        this.rng,
      );
    } else if (name === "selective") {
      if (pairs === null) {
        throw new CurriculumError(
          "DATA_INVALID",
          'selector "selective" needs reference log-probs per pair; received only a pair count',
        );
      }
      const loss = new Float64Array(size);
      for (let i = 0; i < size; i++) {
        const d = referencePreferenceOf(pairs[i]!, i, config.stability.lengthNormalize);
        if (d === undefined) {
          throw CurriculumError.mismatch(
            "DATA_INVALID",
            `pair ${pairs[i]!.id ?? i} (index ${i}): referenceChosen/referenceRejected`,
            'reference log-probs (needed by "selective")',
            pairs[i],
          );
        }
        loss[i] = softplus(-d);
      }
      const order = Array.from({ length: size }, (_, i) => i).sort((a, b) => loss[a]! - loss[b]! || a - b);
      const keep = Math.max(1, Math.round(config.selectiveKeep * size));
      this.cursor = new EpochCursor(Int32Array.from(order.slice(0, keep)), null);
    } else {
      throw CurriculumError.mismatch(
        "CONFIG_INVALID",
        "epoch selector name",
        '"uniform" or "selective"',
        name,
      );
    }
  }

  /** Completed epochs so far. */
  get epoch(): number {
    return this.cursor.epochIndex;
  }

  nextBatch(step: number): number[] {
    this.checkBatchStep(step);
    const out = this.cursor.take(this.config.batchSize);
    this.pushBatch(step, out.length);
    return out;
  }

  state(): SelectorState {
    const g = this.cursor.generator;
    if (g) this.rng = g;
    return this.baseState({ lastBatchStep: this.lastBatchStep, cursor: this.cursor.state() });
  }

  load(state: SelectorState): void {
    this.loadBase(state);
    this.cursor.load(state.data.cursor as EpochCursorState);
  }
}

/** `random`: B distinct pairs drawn uniformly from all pairs at every step (with replacement across steps). */
export class RandomSelector extends NoScoringSelector {
  nextBatch(step: number): number[] {
    this.checkBatchStep(step);
    const b = Math.min(this.config.batchSize, this.size);
    // Floyd's algorithm: b distinct indices from [0, size)
    const chosen = new Set<number>();
    const out: number[] = [];
    for (let j = this.size - b; j < this.size; j++) {
      const t = this.rng.int(j + 1);
      const v = chosen.has(t) ? j : t;
      chosen.add(v);
      out.push(v);
    }
    this.pushBatch(step, out.length);
    return out;
  }

  state(): SelectorState {
    return this.baseState({ lastBatchStep: this.lastBatchStep });
  }

  load(state: SelectorState): void {
    this.loadBase(state);
  }
}
