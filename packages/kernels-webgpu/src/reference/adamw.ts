/** Float64 references for the AdamW step (PyTorch semantics), the global gradient norm and clipping. */
export interface AdamWRefOptions {
  lr: number;
  step: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  gradScale?: number;
}

export function adamwRef(
  param: ArrayLike<number>,
  grad: ArrayLike<number>,
  m: ArrayLike<number>,
  v: ArrayLike<number>,
  o: AdamWRefOptions,
): { param: Float64Array; m: Float64Array; v: Float64Array } {
  const b1 = o.beta1 ?? 0.9;
  const b2 = o.beta2 ?? 0.999;
  const eps = o.eps ?? 1e-8;
  const wd = o.weightDecay ?? 0.01;
  const s = o.gradScale ?? 1;
  const bc1 = 1 - b1 ** o.step;
  const bc2 = 1 - b2 ** o.step;
  const n = param.length;
  const P = new Float64Array(n);
  const M = new Float64Array(n);
  const V = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const g = (grad[i] as number) * s;
    M[i] = b1 * (m[i] as number) + (1 - b1) * g;
    V[i] = b2 * (v[i] as number) + (1 - b2) * g * g;
    const p = (param[i] as number) * (1 - o.lr * wd);
    P[i] = p - ((o.lr / bc1) * (M[i] as number)) / (Math.sqrt(V[i] as number) / Math.sqrt(bc2) + eps);
  }
  return { param: P, m: M, v: V };
}

export function gradNormRef(grads: readonly ArrayLike<number>[]): number {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += (g[i] as number) ** 2;
  return Math.sqrt(s);
}

export function clipCoefficientRef(norm: number, maxNorm: number): number {
  return Math.min(1, maxNorm / (norm + 1e-6));
}
