import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type BatchLogProbs,
  type LogProbGradient,
  type PolicyLike,
  type PreferencePair,
  Rng,
  type SequenceLogProbs,
  type SftExample,
  sha256,
  sigmoid,
  softplus,
  type TokenDropout,
  tokenDropoutSums,
} from "../../src/index.js";

export interface ToyPolicyOptions {
  readonly dim?: number;
  /** Seeds the initial weights. */
  readonly seed?: number;
  /** Seeds the token features (the "architecture"; keep it equal between runs that share checkpoints). */
  readonly featureSeed?: number;
  /** Sleep this long in each applyGradients (lets a test kill a child mid-run). */
  readonly delayMs?: number;
}

const NAN_TOKEN = "__nan__";

/**
 * A CPU "policy" with exact gradients: each whitespace token t of a response has a fixed random
 * feature vector φ_t (seeded by the token's text); its log-prob is log σ(θ·φ_t) ≤ 0, the sequence
 * log-prob is the sum over response tokens. ∂/∂θ log σ(z) = σ(−z) φ. AdamW optimiser.
 * A token `__nan__` has NaN features (fault injection for the non-finite tests).
 */
export class ToyPolicy implements PolicyLike {
  readonly dim: number;
  readonly seed: number;
  readonly featureSeed: number;
  theta: Float64Array;
  #grad: Float64Array;
  #m: Float64Array;
  #v: Float64Array;
  #t = 0;
  #delayMs: number;
  #embeddings = new Map<string, Float64Array>();
  /** Calls of each method (tests assert scoring really happened). */
  readonly calls = { sequenceLogProbs: 0, scoredPairs: 0, accumulateGradient: 0, applyGradients: 0 };

  constructor(options: ToyPolicyOptions = {}) {
    this.dim = options.dim ?? 8;
    this.seed = options.seed ?? 1;
    this.featureSeed = options.featureSeed ?? 1;
    this.#delayMs = options.delayMs ?? 0;
    const rng = new Rng(this.seed);
    this.theta = Float64Array.from({ length: this.dim }, () => 0.1 * rng.normal());
    this.#grad = new Float64Array(this.dim);
    this.#m = new Float64Array(this.dim);
    this.#v = new Float64Array(this.dim);
  }

  embed(token: string): Float64Array {
    let e = this.#embeddings.get(token);
    if (!e) {
      if (token === NAN_TOKEN) e = new Float64Array(this.dim).fill(Number.NaN);
      else {
        const rng = new Rng(Number.parseInt(sha256(`${this.featureSeed}/${token}`).slice(0, 12), 16));
        e = Float64Array.from({ length: this.dim }, () => rng.normal());
      }
      this.#embeddings.set(token, e);
    }
    return e;
  }

  tokens(text: string): string[] {
    return text.split(/\s+/).filter((t) => t !== "");
  }

  /** Per-token log-probs of a response. */
  tokenLogps(text: string): Float64Array {
    return Float64Array.from(this.tokens(text), (t) => -softplus(-this.#z(t)));
  }

  #z(token: string): number {
    const e = this.embed(token);
    let z = 0;
    for (let d = 0; d < this.dim; d++) z += this.theta[d]! * e[d]!;
    return z;
  }

  #sum(a: Float64Array): number {
    let s = 0;
    for (const v of a) s += v;
    return s;
  }

  async sequenceLogProbs(
    pairs: readonly PreferencePair[],
    options: { readonly dropout?: TokenDropout } = {},
  ): Promise<SequenceLogProbs> {
    this.calls.sequenceLogProbs++;
    this.calls.scoredPairs += pairs.length;
    const n = pairs.length;
    const chosen = new Float64Array(n);
    const rejected = new Float64Array(n);
    const chosenTokens = new Uint32Array(n);
    const rejectedTokens = new Uint32Array(n);
    const dropout = options.dropout;
    const k = dropout?.k ?? 0;
    const cp = new Float64Array(n * k);
    const rp = new Float64Array(n * k);
    pairs.forEach((p, i) => {
      const c = this.tokenLogps(p.chosen);
      const r = this.tokenLogps(p.rejected);
      chosen[i] = this.#sum(c);
      rejected[i] = this.#sum(r);
      chosenTokens[i] = c.length;
      rejectedTokens[i] = r.length;
      if (dropout) {
        const key = dropout.pairKeys[i]!;
        cp.set(tokenDropoutSums(c, dropout, key, 0), i * k);
        rp.set(tokenDropoutSums(r, dropout, key, 1), i * k);
      }
    });
    const base = { chosen, rejected, chosenTokens, rejectedTokens };
    return dropout ? { ...base, chosenPerturbed: cp, rejectedPerturbed: rp } : base;
  }

  async accumulateGradient(
    pairs: readonly PreferencePair[],
    lossGradient: (logps: BatchLogProbs) => LogProbGradient,
  ): Promise<BatchLogProbs> {
    this.calls.accumulateGradient++;
    const lp = await this.sequenceLogProbs(pairs);
    this.calls.sequenceLogProbs--;
    this.calls.scoredPairs -= pairs.length;
    const logps = {
      chosen: lp.chosen,
      rejected: lp.rejected,
      chosenTokens: lp.chosenTokens,
      rejectedTokens: lp.rejectedTokens,
    };
    const g = lossGradient(logps);
    pairs.forEach((p, i) => {
      for (const [text, coef] of [
        [p.chosen, g.chosen[i]!],
        [p.rejected, g.rejected[i]!],
      ] as const) {
        if (coef === 0) continue;
        for (const t of this.tokens(text)) {
          const e = this.embed(t);
          const w = coef * sigmoid(-this.#z(t));
          for (let d = 0; d < this.dim; d++) this.#grad[d] = this.#grad[d]! + w * e[d]!;
        }
      }
    });
    return logps;
  }

  /** SFT on completions (`SequencePolicyLike`). */
  async accumulateSequenceGradient(
    examples: readonly SftExample[],
    lossGradient: (logps: Float64Array, tokens: Uint32Array) => Float64Array,
  ): Promise<{ logps: Float64Array; tokens: Uint32Array }> {
    const per = examples.map((e) => this.tokenLogps(e.completion));
    const logps = Float64Array.from(per, (a) => this.#sum(a));
    const tokens = Uint32Array.from(per, (a) => a.length);
    const g = lossGradient(logps, tokens);
    examples.forEach((e, i) => {
      for (const t of this.tokens(e.completion)) {
        const emb = this.embed(t);
        const w = g[i]! * sigmoid(-this.#z(t));
        for (let d = 0; d < this.dim; d++) this.#grad[d] = this.#grad[d]! + w * emb[d]!;
      }
    });
    return { logps, tokens };
  }

  /** The accumulated gradient (tests). */
  gradient(): Float64Array {
    return Float64Array.from(this.#grad);
  }

  async readGradient(): Promise<Float64Array> {
    return Float64Array.from(this.#grad);
  }

  async applyGradients(options: {
    readonly learningRate: number;
    readonly maxGradNorm: number | undefined;
  }): Promise<{ gradNorm: number; applied: boolean }> {
    this.calls.applyGradients++;
    if (this.#delayMs > 0) await new Promise((r) => setTimeout(r, this.#delayMs));
    let sq = 0;
    for (const g of this.#grad) sq += g * g;
    const gradNorm = Math.sqrt(sq);
    if (!Number.isFinite(gradNorm)) {
      this.#grad.fill(0);
      return { gradNorm, applied: false };
    }
    const clip =
      options.maxGradNorm !== undefined && gradNorm > options.maxGradNorm
        ? options.maxGradNorm / gradNorm
        : 1;
    const b1 = 0.9;
    const b2 = 0.999;
    const eps = 1e-8;
    const wd = 0.01;
    this.#t++;
    for (let d = 0; d < this.dim; d++) {
      const g = this.#grad[d]! * clip;
      this.#m[d] = b1 * this.#m[d]! + (1 - b1) * g;
      this.#v[d] = b2 * this.#v[d]! + (1 - b2) * g * g;
      const mh = this.#m[d]! / (1 - b1 ** this.#t);
      const vh = this.#v[d]! / (1 - b2 ** this.#t);
      this.theta[d] =
        this.theta[d]! - options.learningRate * (mh / (Math.sqrt(vh) + eps) + wd * this.theta[d]!);
    }
    this.#grad.fill(0);
    return { gradNorm, applied: true };
  }

  async discardGradients(): Promise<void> {
    this.#grad.fill(0);
  }

  async fingerprint(): Promise<string> {
    return sha256(new Uint8Array(this.theta.buffer, this.theta.byteOffset, this.theta.byteLength));
  }

  async saveState(dir: string): Promise<void> {
    for (const [name, arr] of [
      ["theta.f64", this.theta],
      ["adam-m.f64", this.#m],
      ["adam-v.f64", this.#v],
    ] as const) {
      await writeFile(join(dir, name), new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
    }
    await writeFile(join(dir, "optimizer.json"), JSON.stringify({ t: this.#t, dim: this.dim }));
  }

  async loadState(dir: string): Promise<void> {
    const read = async (name: string) => {
      const b = await readFile(join(dir, name));
      const out = new Float64Array(b.byteLength / 8);
      new Uint8Array(out.buffer).set(b);
      if (out.length !== this.dim)
        throw new Error(`${name}: expected ${this.dim} values, found ${out.length}`);
      return out;
    };
    this.theta = await read("theta.f64");
    this.#m = await read("adam-m.f64");
    this.#v = await read("adam-v.f64");
    const meta = JSON.parse(await readFile(join(dir, "optimizer.json"), "utf8")) as { t: number };
    this.#t = meta.t;
    this.#grad.fill(0);
  }
}
