/**
 * Float64 reference for causal grouped-query attention with a key mask.
 *
 * Layout: q `[B, Tq, H, Dh]`, k/v `[B, S, Hkv, Dh]` (S = cache capacity), H a multiple of Hkv
 * (query head h reads KV head `h / (H/Hkv)`). Query i sits at key position `qOffset + i`
 * (`qOffset = kvLength − Tq` by default). Key j is visible to query i iff `j < kvLength`,
 * `mask[b, j] ≠ 0` (when a mask is given) and, if causal, `j ≤ qOffset + i`. A query with no
 * visible key outputs zeros (and its lse is reported as −1e30).
 */
export interface AttentionDims {
  B: number;
  Tq: number;
  S: number;
  H: number;
  Hkv: number;
  Dh: number;
  kvLength?: number;
  qOffset?: number;
  causal?: boolean;
  scale?: number;
  /** `[B, S]`, non-zero = key visible. */
  mask?: ArrayLike<number>;
}

export const NO_KEY_LSE = -1e30;

function visibleFn(d: AttentionDims): (b: number, i: number, j: number) => boolean {
  const L = d.kvLength ?? d.S;
  const off = d.qOffset ?? L - d.Tq;
  const causal = d.causal ?? true;
  return (b, i, j) =>
    j < L && (!causal || j <= off + i) && (!d.mask || (d.mask[b * d.S + j] as number) !== 0);
}

/** Softmax probabilities `[B, H, Tq, S]` (zeros where not visible). */
export function attentionProbsRef(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  d: AttentionDims,
): Float64Array {
  const { B, Tq, S, H, Hkv, Dh } = d;
  const G = H / Hkv;
  const scale = d.scale ?? 1 / Math.sqrt(Dh);
  const vis = visibleFn(d);
  const P = new Float64Array(B * H * Tq * S);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Tq; i++) {
        const row = ((b * H + h) * Tq + i) * S;
        let m = Number.NEGATIVE_INFINITY;
        const s = new Float64Array(S);
        for (let j = 0; j < S; j++) {
          if (!vis(b, i, j)) continue;
          let acc = 0;
          for (let e = 0; e < Dh; e++) {
            acc +=
              (q[((b * Tq + i) * H + h) * Dh + e] as number) *
              (k[((b * S + j) * Hkv + Math.floor(h / G)) * Dh + e] as number);
          }
          s[j] = acc * scale;
          m = Math.max(m, acc * scale);
        }
        let z = 0;
        for (let j = 0; j < S; j++) if (vis(b, i, j)) z += Math.exp((s[j] as number) - m);
        for (let j = 0; j < S; j++) if (vis(b, i, j)) P[row + j] = Math.exp((s[j] as number) - m) / z;
      }
  return P;
}

/** Output `[B, Tq, H, Dh]` and log-sum-exp of the scaled scores `[B, H, Tq]`. */
export function attentionRef(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: AttentionDims,
): { out: Float64Array; lse: Float64Array } {
  const { B, Tq, S, H, Hkv, Dh } = d;
  const G = H / Hkv;
  const scale = d.scale ?? 1 / Math.sqrt(Dh);
  const vis = visibleFn(d);
  const P = attentionProbsRef(q, k, d);
  const out = new Float64Array(B * Tq * H * Dh);
  const lse = new Float64Array(B * H * Tq).fill(NO_KEY_LSE);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Tq; i++) {
        const row = ((b * H + h) * Tq + i) * S;
        let m = Number.NEGATIVE_INFINITY;
        const sc: number[] = [];
        for (let j = 0; j < S; j++) {
          if (!vis(b, i, j)) continue;
          let acc = 0;
          for (let e = 0; e < Dh; e++)
            acc +=
              (q[((b * Tq + i) * H + h) * Dh + e] as number) *
              (k[((b * S + j) * Hkv + Math.floor(h / G)) * Dh + e] as number);
          sc.push(acc * scale);
          m = Math.max(m, acc * scale);
          for (let e = 0; e < Dh; e++)
            out[((b * Tq + i) * H + h) * Dh + e] =
              (out[((b * Tq + i) * H + h) * Dh + e] as number) +
              (P[row + j] as number) * (v[((b * S + j) * Hkv + Math.floor(h / G)) * Dh + e] as number);
        }
        if (sc.length > 0)
          lse[(b * H + h) * Tq + i] = m + Math.log(sc.reduce((z, s) => z + Math.exp(s - m), 0));
      }
  return { out, lse };
}

/** Gradients of `Σ dOut ⊙ out` w.r.t. q, k, v (dense softmax formulation, independent of the kernels). */
export function attentionBackwardRef(
  dOut: ArrayLike<number>,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  d: AttentionDims,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { B, Tq, S, H, Hkv, Dh } = d;
  const G = H / Hkv;
  const scale = d.scale ?? 1 / Math.sqrt(Dh);
  const P = attentionProbsRef(q, k, d);
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  const qi = (b: number, i: number, h: number) => ((b * Tq + i) * H + h) * Dh;
  const kj = (b: number, j: number, h: number) => ((b * S + j) * Hkv + Math.floor(h / G)) * Dh;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Tq; i++) {
        const row = ((b * H + h) * Tq + i) * S;
        const dP = new Float64Array(S);
        let rowDot = 0;
        for (let j = 0; j < S; j++) {
          const p = P[row + j] as number;
          if (p === 0) continue;
          let acc = 0;
          for (let e = 0; e < Dh; e++)
            acc += (dOut[qi(b, i, h) + e] as number) * (v[kj(b, j, h) + e] as number);
          dP[j] = acc;
          rowDot += p * acc;
          for (let e = 0; e < Dh; e++)
            dv[kj(b, j, h) + e] = (dv[kj(b, j, h) + e] as number) + p * (dOut[qi(b, i, h) + e] as number);
        }
        for (let j = 0; j < S; j++) {
          const p = P[row + j] as number;
          if (p === 0) continue;
          const ds = p * ((dP[j] as number) - rowDot) * scale;
          for (let e = 0; e < Dh; e++) {
            dq[qi(b, i, h) + e] = (dq[qi(b, i, h) + e] as number) + ds * (k[kj(b, j, h) + e] as number);
            dk[kj(b, j, h) + e] = (dk[kj(b, j, h) + e] as number) + ds * (q[qi(b, i, h) + e] as number);
          }
        }
      }
  return { dq, dk, dv };
}
