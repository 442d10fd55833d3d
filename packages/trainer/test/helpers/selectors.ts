import type {
  BatchLogProbs,
  ScoredPairs,
  ScoringRequest,
  SelectorContext,
  TrainingSelector,
} from "../../src/index.js";

/** Uniform DPO: epochs over all pairs, shuffled with the trainer's RNG. */
export class EpochSelector implements TrainingSelector {
  readonly name = "uniform";
  #ctx!: SelectorContext;
  #order: number[] = [];
  #cursor = 0;
  #epoch = 0;

  init(ctx: SelectorContext): void {
    this.#ctx = ctx;
    this.#order = [];
    this.#cursor = 0;
  }
  nextScoringRequest(): ScoringRequest | undefined {
    return undefined;
  }
  receiveScores(): void {}
  selectBatch(_step: number, batchSize: number): number[] {
    const out: number[] = [];
    while (out.length < batchSize) {
      if (this.#cursor >= this.#order.length) {
        this.#order = this.#ctx.rng.shuffle(this.#ctx.pairs.map((_, i) => i));
        this.#cursor = 0;
        this.#epoch++;
      }
      const i = this.#order[this.#cursor++]!;
      if (out.includes(i)) break;
      out.push(i);
    }
    return out;
  }
  observeTrained(): void {}
  metrics(): Record<string, number> {
    return { epoch: this.#epoch };
  }
  getState(): unknown {
    return { order: this.#order, cursor: this.#cursor, epoch: this.#epoch };
  }
  setState(state: unknown): void {
    const s = state as { order: number[]; cursor: number; epoch: number };
    this.#order = [...s.order];
    this.#cursor = s.cursor;
    this.#epoch = s.epoch;
  }
}

/**
 * A small scoring selector for the loop tests: every `refreshEvery` steps it asks for a pool of
 * random pairs to be scored with K token-dropout margins, then takes the pairs with the most
 * negative mean length-normalised policy margin (confident errors) that were not used since the
 * refresh; training margins update μ.
 */
export class PoolSelector implements TrainingSelector {
  readonly name = "pool";
  readonly refreshEvery: number;
  readonly poolSize: number;
  readonly k = 4;
  #ctx!: SelectorContext;
  #pool: { index: number; mu: number; used: boolean }[] = [];
  #lastRefresh = -1;
  #pending: ScoringRequest | undefined;
  scoringRequests = 0;

  constructor(options: { refreshEvery?: number; poolSize?: number } = {}) {
    this.refreshEvery = options.refreshEvery ?? 5;
    this.poolSize = options.poolSize ?? 24;
  }
  init(ctx: SelectorContext): void {
    this.#ctx = ctx;
  }
  nextScoringRequest(step: number): ScoringRequest | undefined {
    if (this.#pending) return undefined;
    const due = this.#lastRefresh < 0 || step - this.#lastRefresh >= this.refreshEvery;
    const eligible = this.#pool.filter((p) => !p.used).length;
    if (!due && eligible >= this.#ctx.batchSize) return undefined;
    const all = this.#ctx.rng.shuffle(this.#ctx.pairs.map((_, i) => i));
    const req: ScoringRequest = {
      indices: all.slice(0, Math.min(this.poolSize, all.length)),
      perturbation: { kind: "token-dropout", k: this.k, rho: 0.1, seed: this.#ctx.rng.nextU32() },
      purpose: "pool",
    };
    this.#pending = req;
    this.#lastRefresh = step;
    return req;
  }
  receiveScores(scored: ScoredPairs): void {
    const { logps } = scored;
    const k = this.k;
    this.#pool = scored.request.indices.map((index, i) => {
      let mu = 0;
      for (let j = 0; j < k; j++) {
        mu +=
          logps.chosenPerturbed![i * k + j]! / logps.chosenTokens[i]! -
          logps.rejectedPerturbed![i * k + j]! / logps.rejectedTokens[i]!;
      }
      return { index, mu: mu / k, used: false };
    });
    this.scoringRequests++;
  }
  selectBatch(_step: number, batchSize: number): number[] {
    this.#pending = undefined;
    const free = this.#pool.filter((p) => !p.used).sort((a, b) => a.mu - b.mu || a.index - b.index);
    const take = free.slice(0, batchSize);
    for (const p of take) p.used = true;
    return take.map((p) => p.index);
  }
  observeTrained(_step: number, indices: readonly number[], logps: BatchLogProbs): void {
    indices.forEach((index, i) => {
      const p = this.#pool.find((q) => q.index === index);
      if (p) p.mu = logps.chosen[i]! - logps.rejected[i]!;
    });
  }
  metrics(): Record<string, number> {
    const mus = this.#pool.map((p) => -p.mu);
    return {
      "sage/pool_size": this.#pool.length,
      "sage/score_mean": mus.reduce((a, b) => a + b, 0) / Math.max(1, mus.length),
    };
  }
  getState(): unknown {
    return { pool: this.#pool, lastRefresh: this.#lastRefresh, scoringRequests: this.scoringRequests };
  }
  setState(state: unknown): void {
    const s = state as {
      pool: { index: number; mu: number; used: boolean }[];
      lastRefresh: number;
      scoringRequests: number;
    };
    this.#pool = s.pool.map((p) => ({ ...p }));
    this.#lastRefresh = s.lastRefresh;
    this.scoringRequests = s.scoringRequests;
  }
}
