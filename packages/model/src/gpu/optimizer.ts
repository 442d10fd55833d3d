/**
 * The one GPU optimiser of the project: AdamW for a `Policy` with its state (m, v) on the GPU —
 * decoupled weight decay (not applied to norm weights and biases), global-norm gradient clipping
 * computed on the GPU, a refusal of non-finite gradients (one 4-byte read per step, before any
 * update), gradient accumulation over micro-batches, and state export/import for bit-exact resume.
 * `@sage/trainer` drives it step by step with its own learning rates; the model benchmark times it.
 *
 * And the one learning-rate schedule ({@link learningRateAt}): linear warm-up, then constant,
 * linear or cosine decay (to `minLr`, default 0), indexed by the 0-based number of updates taken
 * before the one being made (Hugging Face's `get_*_schedule_with_warmup` convention after warm-up;
 * warm-up starts at `peak / warmupSteps`, not at 0, so the first update is never wasted).
 */
import {
  ADAMW_DEFAULTS,
  adamwStep,
  clipCoefficient,
  copyInto,
  fill,
  gradNorm,
  type Tensor,
} from "@sage/kernels-webgpu";
import { ModelError, show } from "../errors.js";
import type { Policy, TrainForward } from "./policy.js";
import { release } from "./util.js";

/** Learning-rate schedule: warm-up from `peak / warmupSteps`, then constant, linear or cosine decay. */
export interface LearningRateSchedule {
  readonly type: "constant" | "linear" | "cosine";
  /** Learning rate after warm-up. */
  readonly peak: number;
  /** Updates of linear warm-up (0 = none). */
  readonly warmupSteps: number;
  /** Update count at which a decaying schedule reaches `minLr` (ignored by `constant`). */
  readonly totalSteps: number;
  /** Floor of the linear and cosine decays (default 0). */
  readonly minLr?: number;
}

/** Learning rate of the update made after `step` updates (0-based). */
export function learningRateAt(step: number, s: LearningRateSchedule): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (s.peak * (step + 1)) / s.warmupSteps;
  if (s.type === "constant") return s.peak;
  const minLr = s.minLr ?? 0;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - s.warmupSteps) / span));
  const shape = s.type === "linear" ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
  return minLr + (s.peak - minLr) * shape;
}

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
  /** Linear warmup over this many optimizer steps (default 0). */
  warmupSteps?: number;
  /** Decay from `lr` to `minLr` ending at this step (default: constant lr after warm-up). */
  totalSteps?: number;
  /** Shape of the decay when `totalSteps` is set (default "cosine"). */
  decay?: "linear" | "cosine";
  /** Floor of the decay (default 0). */
  minLr?: number;
  /** Micro-batches per optimizer step (default 1); gradients are averaged over them. */
  gradAccumulationSteps?: number;
}

/** The schedule that `options` describe. */
export function optimizerSchedule(o: OptimizerOptions): LearningRateSchedule {
  return {
    type: o.totalSteps === undefined ? "constant" : (o.decay ?? "cosine"),
    peak: o.lr,
    warmupSteps: o.warmupSteps ?? 0,
    totalSteps: o.totalSteps ?? 0,
    ...(o.minLr !== undefined ? { minLr: o.minLr } : {}),
  };
}

export interface StepInfo {
  /** 1-based optimizer step just taken. */
  step: number;
  /** Learning rate used. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/** What {@link AdamW.tryStep} did: `applied: false` means the gradient norm was not finite. */
export interface TryStepInfo extends StepInfo {
  readonly applied: boolean;
}

/** Optimizer state for an exact resume: the step count and the moments in `parameterNames` order. */
export interface OptimizerState {
  readonly step: number;
  readonly parameterNames: readonly string[];
  readonly m: Float32Array;
  readonly v: Float32Array;
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
  if (o.decay !== undefined && o.decay !== "linear" && o.decay !== "cosine") {
    throw new ModelError(
      "INPUT_INVALID",
      `optimizer option decay: expected "linear" or "cosine", received ${show(o.decay)}`,
    );
  }
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
  readonly schedule: LearningRateSchedule;
  private readonly m = new Map<string, Tensor<"f32">>();
  private readonly v = new Map<string, Tensor<"f32">>();
  private t = 0;
  private micro = 0;
  private destroyed = false;

  /** Allocates zeroed m and v for every parameter and zeroes the policy's gradients. */
  constructor(policy: Policy, options: OptimizerOptions) {
    validate(options);
    if (!policy.trainable)
      throw new ModelError("STATE_INVALID", `policy '${policy.label}' is frozen; it cannot be optimised`);
    this.policy = policy;
    this.options = { ...options };
    this.schedule = optimizerSchedule(options);
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

  /** Clip, update every parameter, zero the gradients; a non-finite gradient norm throws. */
  async step(): Promise<StepInfo> {
    const r = await this.tryStep();
    if (!r.applied) {
      throw new ModelError(
        "STATE_INVALID",
        `gradient norm is ${r.gradNorm} at step ${this.t + 1}; no update was applied`,
      );
    }
    return { step: r.step, lr: r.lr, gradNorm: r.gradNorm };
  }

  /**
   * One update from the accumulated gradients. A non-finite global gradient norm (read back before
   * any update) zeroes the gradients and leaves weights, moments and the step count untouched
   * (`applied: false`). `lr` and `maxGradNorm` override the schedule and the clipping threshold
   * for this update (a trainer with its own schedule passes both).
   */
  async tryStep(
    override: { readonly lr?: number; readonly maxGradNorm?: number } = {},
  ): Promise<TryStepInfo> {
    this.assertAlive();
    const ctx = this.policy.ctx;
    const o = this.options;
    this.micro = 0;
    const lr = override.lr ?? learningRateAt(this.t, this.schedule);
    const names = this.policy.parameterNames;
    const norm = gradNorm(
      ctx,
      names.map((n) => this.policy.grad(n)),
    );
    let coef: Tensor<"f32"> | undefined;
    try {
      const n = ((await ctx.read(norm)) as Float32Array)[0] as number;
      if (!Number.isFinite(n)) {
        this.policy.zeroGrad();
        return { applied: false, step: this.t, lr, gradNorm: n };
      }
      this.t++;
      const maxNorm = override.maxGradNorm ?? o.maxGradNorm ?? 1;
      coef = Number.isFinite(maxNorm) ? clipCoefficient(ctx, norm, maxNorm) : undefined;
      for (const name of names) {
        const decay =
          name.endsWith("norm.weight") || name.endsWith(".bias")
            ? 0
            : (o.weightDecay ?? ADAMW_DEFAULTS.weightDecay);
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
            beta1: o.beta1 ?? ADAMW_DEFAULTS.beta1,
            beta2: o.beta2 ?? ADAMW_DEFAULTS.beta2,
            eps: o.eps ?? ADAMW_DEFAULTS.eps,
            ...(coef ? { gradScale: coef } : {}),
          },
        );
      }
      this.policy.zeroGrad();
      return { applied: true, step: this.t, lr, gradNorm: n };
    } finally {
      release(ctx, norm, coef);
    }
  }

  /** The step count and both moments, read back (parameters in `policy.parameterNames` order). */
  async exportState(): Promise<OptimizerState> {
    this.assertAlive();
    const names = this.policy.parameterNames;
    const read = async (map: Map<string, Tensor<"f32">>) => {
      const parts: Float32Array[] = [];
      for (const name of names)
        parts.push((await this.policy.ctx.read(map.get(name) as Tensor)) as Float32Array);
      return concat(parts);
    };
    return { step: this.t, parameterNames: [...names], m: await read(this.m), v: await read(this.v) };
  }

  /** Restore what {@link exportState} returned; the pending gradients are zeroed. */
  async importState(state: OptimizerState): Promise<void> {
    this.assertAlive();
    const ctx = this.policy.ctx;
    const names = this.policy.parameterNames;
    if (JSON.stringify(state.parameterNames) !== JSON.stringify(names)) {
      throw new ModelError(
        "INPUT_INVALID",
        `optimizer state: expected parameters ${show(names)}, received ${show(state.parameterNames)}`,
      );
    }
    if (!Number.isSafeInteger(state.step) || state.step < 0) {
      throw new ModelError(
        "INPUT_INVALID",
        `optimizer state: expected a step ≥ 0, received ${show(state.step)}`,
      );
    }
    const total = names.reduce((a, n) => a + this.policy.param(n).size, 0);
    for (const [what, data] of [
      ["m", state.m],
      ["v", state.v],
    ] as const) {
      if (data.length !== total) {
        throw new ModelError(
          "INPUT_INVALID",
          `optimizer state ${what}: expected ${total} values, received ${data.length}`,
        );
      }
    }
    for (const [map, data] of [
      [this.m, state.m],
      [this.v, state.v],
    ] as const) {
      let off = 0;
      for (const name of names) {
        const dst = map.get(name) as Tensor<"f32">;
        const tmp = ctx.tensor(data.subarray(off, off + dst.size), dst.shape, "adamw:import");
        try {
          copyInto(ctx, dst, tmp);
        } finally {
          release(ctx, tmp);
        }
        off += dst.size;
      }
    }
    this.t = state.step;
    this.micro = 0;
    this.policy.zeroGrad();
    await ctx.sync();
  }

  private assertAlive(): void {
    if (this.destroyed) throw new ModelError("STATE_INVALID", "optimizer was destroyed");
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

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
