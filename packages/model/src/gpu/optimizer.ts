/**
 * AdamW for a `Policy` with its state (m, v) on the GPU: decoupled weight decay (not applied to
 * norm weights and biases), global-norm gradient clipping computed on the GPU (no read-back
 * needed to apply it), a linear-warmup + cosine learning-rate schedule, and gradient
 * accumulation over micro-batches.
 */
import { adamwStep, clipCoefficient, fill, gradNorm, type Tensor } from "@sage/kernels-webgpu";
import { ModelError, show } from "../errors.js";
import type { Policy, TrainForward } from "./policy.js";
import { release } from "./util.js";

export interface OptimizerOptions {
  /** Peak learning rate. */
  lr: number;
  beta1?: number; // 0.9
  beta2?: number; // 0.999
  eps?: number; // 1e-8
  /** Decoupled weight decay for matrices and embeddings (default 0.01; norms and biases get 0). */
  weightDecay?: number;
  /** Clip the global gradient L2 norm to this value (default 1; `Infinity` disables clipping). */
  maxGradNorm?: number;
  /** Linear warmup from 0 over this many optimizer steps (default 0). */
  warmupSteps?: number;
  /** Cosine decay from `lr` to `minLr` over steps `warmupSteps…totalSteps` (default: constant lr). */
  totalSteps?: number;
  /** Floor of the cosine schedule (default 0). */
  minLr?: number;
  /** Micro-batches per optimizer step (default 1); gradients are averaged over them. */
  gradAccumulationSteps?: number;
}

export interface StepInfo {
  /** 1-based optimizer step just taken. */
  step: number;
  /** Learning rate used. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/** Learning rate at a 1-based step: linear warmup, then cosine to `minLr` (or constant). */
export function learningRate(o: OptimizerOptions, step: number): number {
  const warm = o.warmupSteps ?? 0;
  if (step <= warm) return (o.lr * step) / warm;
  if (o.totalSteps === undefined) return o.lr;
  const minLr = o.minLr ?? 0;
  const span = Math.max(1, o.totalSteps - warm);
  const progress = Math.min(1, (step - warm) / span);
  return minLr + (o.lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

function validate(o: OptimizerOptions): void {
  const num = (v: unknown, name: string, ok: (x: number) => boolean, what: string) => {
    if (v !== undefined && (typeof v !== "number" || !ok(v))) {
      throw new ModelError(
        "INPUT_INVALID",
        `optimizer option ${name}: expected ${what}, received ${show(v)}`,
      );
    }
  };
  num(o.lr, "lr", (x) => Number.isFinite(x) && x > 0, "a finite number > 0");
  num(o.beta1, "beta1", (x) => x >= 0 && x < 1, "[0, 1)");
  num(o.beta2, "beta2", (x) => x >= 0 && x < 1, "[0, 1)");
  num(o.eps, "eps", (x) => Number.isFinite(x) && x > 0, "> 0");
  num(o.weightDecay, "weightDecay", (x) => Number.isFinite(x) && x >= 0, "≥ 0");
  num(o.maxGradNorm, "maxGradNorm", (x) => x > 0, "> 0 (Infinity disables clipping)");
  num(o.warmupSteps, "warmupSteps", (x) => Number.isSafeInteger(x) && x >= 0, "an integer ≥ 0");
  num(
    o.totalSteps,
    "totalSteps",
    (x) => Number.isSafeInteger(x) && x > (o.warmupSteps ?? 0),
    "an integer > warmupSteps",
  );
  num(o.minLr, "minLr", (x) => Number.isFinite(x) && x >= 0 && x <= o.lr, "in [0, lr]");
  num(
    o.gradAccumulationSteps,
    "gradAccumulationSteps",
    (x) => Number.isSafeInteger(x) && x >= 1,
    "an integer ≥ 1",
  );
}

export class AdamW implements Disposable {
  readonly policy: Policy;
  readonly options: Readonly<OptimizerOptions>;
  private readonly m = new Map<string, Tensor<"f32">>();
  private readonly v = new Map<string, Tensor<"f32">>();
  private t = 0;
  private micro = 0;
  private destroyed = false;

  /** Allocates zeroed m and v for every parameter and zeroes the policy's gradients. */
  constructor(policy: Policy, options: OptimizerOptions) {
    validate(options);
    if (!policy.trainable)
      throw new ModelError("STATE", `policy '${policy.label}' is frozen; it cannot be optimised`);
    this.policy = policy;
    this.options = { ...options };
    const ctx = policy.ctx;
    try {
      for (const name of policy.parameterNames) {
        const p = policy.param(name);
        const m = ctx.empty(p.shape, "f32", `adamw:m:${name}`);
        const v = ctx.empty(p.shape, "f32", `adamw:v:${name}`);
        this.m.set(name, m);
        this.v.set(name, v);
        fill(ctx, m, 0);
        fill(ctx, v, 0);
      }
    } catch (e) {
      this.destroy();
      throw e;
    }
    policy.zeroGrad();
  }

  /** Optimizer steps taken so far. */
  get stepCount(): number {
    return this.t;
  }

  /** Micro-batches accumulated since the last step. */
  get pendingMicroBatches(): number {
    return this.micro;
  }

  /**
   * Backward of one micro-batch (`dSeq` = d loss / d sequence log-prob, for that micro-batch's
   * loss), scaled by 1 / gradAccumulationSteps. Every `gradAccumulationSteps`-th call also takes
   * the optimizer step and returns its info.
   */
  async backward(fwd: TrainForward, dSeq: ArrayLike<number>): Promise<StepInfo | undefined> {
    this.assertAlive();
    const k = this.options.gradAccumulationSteps ?? 1;
    const scaled = Array.from(dSeq, (x) => x / k);
    await this.policy.backward(fwd, scaled);
    this.micro++;
    if (this.micro < k) return undefined;
    return this.step();
  }

  /** Clip, update every parameter, zero the gradients. */
  async step(): Promise<StepInfo> {
    this.assertAlive();
    const ctx = this.policy.ctx;
    const o = this.options;
    this.t++;
    this.micro = 0;
    const lr = learningRate(o, this.t);
    const names = this.policy.parameterNames;
    const grads = names.map((n) => this.policy.grad(n));
    const norm = gradNorm(ctx, grads);
    let coef: Tensor<"f32"> | undefined;
    try {
      // One 4-byte read per step: refuse a non-finite gradient before it reaches the weights.
      const n = ((await ctx.read(norm)) as Float32Array)[0] as number;
      if (!Number.isFinite(n)) {
        this.policy.zeroGrad();
        throw new ModelError("STATE", `gradient norm is ${n} at step ${this.t}; no update was applied`);
      }
      const maxNorm = o.maxGradNorm ?? 1;
      coef = Number.isFinite(maxNorm) ? clipCoefficient(ctx, norm, maxNorm) : undefined;
      for (const name of names) {
        const decay = name.endsWith("norm.weight") || name.endsWith(".bias") ? 0 : (o.weightDecay ?? 0.01);
        adamwStep(
          ctx,
          this.policy.param(name),
          this.policy.grad(name),
          this.m.get(name) as Tensor,
          this.v.get(name) as Tensor,
          {
            lr,
            step: this.t,
            weightDecay: decay,
            ...(o.beta1 !== undefined ? { beta1: o.beta1 } : {}),
            ...(o.beta2 !== undefined ? { beta2: o.beta2 } : {}),
            ...(o.eps !== undefined ? { eps: o.eps } : {}),
            ...(coef ? { gradScale: coef } : {}),
          },
        );
      }
      this.policy.zeroGrad();
      return { step: this.t, lr, gradNorm: n };
    } finally {
      release(ctx, norm, coef);
    }
  }

  private assertAlive(): void {
    if (this.destroyed) throw new ModelError("STATE", "optimizer was destroyed");
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    release(this.policy.ctx, ...this.m.values(), ...this.v.values());
    this.m.clear();
    this.v.clear();
  }

  [Symbol.dispose](): void {
    this.destroy();
  }
}
