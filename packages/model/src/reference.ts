/**
 * Float64 TypeScript reference of the whole model (small configs only; plain loops), with a
 * hand-written backward for every parameter. It is the oracle for the GPU model and is itself
 * checked by finite differences and against a PyTorch fixture.
 *
 * Math (HF Llama/Qwen2): x = E[tok]; per layer h = RMSNorm(x)·w; q,k,v = h·Wᵀ (+ b for qwen2);
 * RoPE with HF's rotate_half convention on q, k; causal softmax(q·kᵀ/√hd) over real keys
 * (attention mask), GQA (query head h reads kv head ⌊h / (nH/nKV)⌋); x += ctx·Woᵀ;
 * x += (silu(h2·Wgᵀ) ⊙ h2·Wuᵀ)·Wdᵀ; logits = RMSNorm(x)·Wlmᵀ (Wlm = E when tied).
 * A query with no real key at or before it (leading left padding) gets a zero attention output.
 */
import { checkBatch, positionIds, type ScoredBatch, type TokenBatch } from "./batch.js";
import type { ModelConfig } from "./config.js";
import { ModelError } from "./errors.js";
import { type ModelWeights, parameterSpecs } from "./weights.js";

/** Parameters by HF tensor name, in float64. */
export type RefParams = Record<string, Float64Array>;

export function refParamsFromWeights(c: ModelConfig, w: ModelWeights): RefParams {
  const out: RefParams = {};
  for (const s of parameterSpecs(c)) out[s.name] = Float64Array.from(s.get(w));
  return out;
}

function P(p: RefParams, name: string): Float64Array {
  const t = p[name];
  if (!t) throw new ModelError("TENSOR_MISSING", `reference params lack "${name}"`);
  return t;
}

/** y[n, o] = Σ_i x[n, i]·W[o, i] (+ b[o]). */
function linear(
  x: Float64Array,
  N: number,
  inF: number,
  W: Float64Array,
  outF: number,
  b?: Float64Array,
): Float64Array {
  const y = new Float64Array(N * outF);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < outF; o++) {
      let s = b ? (b[o] as number) : 0;
      const xo = n * inF;
      const wo = o * inF;
      for (let i = 0; i < inF; i++) s += (x[xo + i] as number) * (W[wo + i] as number);
      y[n * outF + o] = s;
    }
  }
  return y;
}

/** Backward of linear: dx = dy·W, dW += dyᵀ·x, db += Σ dy. */
function linearBack(
  dy: Float64Array,
  x: Float64Array,
  N: number,
  inF: number,
  W: Float64Array,
  outF: number,
  dW: Float64Array,
  db?: Float64Array,
): Float64Array {
  const dx = new Float64Array(N * inF);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < outF; o++) {
      const g = dy[n * outF + o] as number;
      if (g === 0) continue;
      if (db) db[o] = (db[o] as number) + g;
      const xo = n * inF;
      const wo = o * inF;
      for (let i = 0; i < inF; i++) {
        dx[xo + i] = (dx[xo + i] as number) + g * (W[wo + i] as number);
        dW[wo + i] = (dW[wo + i] as number) + g * (x[xo + i] as number);
      }
    }
  }
  return dx;
}

function rmsnorm(x: Float64Array, N: number, d: number, w: Float64Array, eps: number) {
  const y = new Float64Array(N * d);
  const rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += (x[n * d + i] as number) ** 2;
    const r = 1 / Math.sqrt(ss / d + eps);
    rstd[n] = r;
    for (let i = 0; i < d; i++) y[n * d + i] = (x[n * d + i] as number) * r * (w[i] as number);
  }
  return { y, rstd };
}

function rmsnormBack(
  dy: Float64Array,
  x: Float64Array,
  rstd: Float64Array,
  N: number,
  d: number,
  w: Float64Array,
  dw: Float64Array,
) {
  const dx = new Float64Array(N * d);
  for (let n = 0; n < N; n++) {
    const r = rstd[n] as number;
    let dot = 0;
    for (let i = 0; i < d; i++) {
      const g = dy[n * d + i] as number;
      const xi = x[n * d + i] as number;
      dw[i] = (dw[i] as number) + g * xi * r;
      dot += g * (w[i] as number) * xi;
    }
    for (let i = 0; i < d; i++) {
      const xi = x[n * d + i] as number;
      dx[n * d + i] = r * (dy[n * d + i] as number) * (w[i] as number) - ((xi * r * r * r) / d) * dot;
    }
  }
  return dx;
}

/** cos/sin tables per (row, frequency) for HF RoPE. */
function ropeTables(pos: number[], hd: number, theta: number) {
  const half = hd / 2;
  const cos = new Float64Array(pos.length * half);
  const sin = new Float64Array(pos.length * half);
  for (let n = 0; n < pos.length; n++) {
    for (let i = 0; i < half; i++) {
      const invFreq = 1 / theta ** ((2 * i) / hd);
      const a = (pos[n] as number) * invFreq;
      cos[n * half + i] = Math.cos(a);
      sin[n * half + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}

/** In-place RoPE on x [N, heads, hd]; `inverse` applies the transpose (backward). */
function rope(
  x: Float64Array,
  N: number,
  heads: number,
  hd: number,
  cos: Float64Array,
  sin: Float64Array,
  inverse: boolean,
) {
  const half = hd / 2;
  const sgn = inverse ? -1 : 1;
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < heads; h++) {
      const o = (n * heads + h) * hd;
      for (let i = 0; i < half; i++) {
        const c = cos[n * half + i] as number;
        const s = sgn * (sin[n * half + i] as number);
        const a = x[o + i] as number;
        const b = x[o + i + half] as number;
        x[o + i] = a * c - b * s;
        x[o + i + half] = b * c + a * s;
      }
    }
  }
}

interface LayerCache {
  xIn: Float64Array;
  h1: Float64Array;
  rstd1: Float64Array;
  q: Float64Array; // after RoPE [N, nH, hd]
  k: Float64Array; // after RoPE [N, nKV, hd]
  v: Float64Array;
  probs: Float64Array; // [B, nH, T, T]
  ctx: Float64Array; // [N, nH·hd]
  xMid: Float64Array;
  h2: Float64Array;
  rstd2: Float64Array;
  g: Float64Array;
  u: Float64Array;
  m: Float64Array;
}

export interface RefForward {
  readonly B: number;
  readonly T: number;
  /** `[B·T·V]` logits. */
  readonly logits: Float64Array;
  /** Saved activations for `referenceBackward`. */
  readonly cache: {
    tokens: number[];
    layers: LayerCache[];
    xFinal: Float64Array;
    hf: Float64Array;
    rstdF: Float64Array;
    cos: Float64Array;
    sin: Float64Array;
    valid: Uint8Array; // [B, T, T] key s visible to query t
  };
}

/** Forward pass in float64; returns logits `[B, T, V]` and what backward needs. */
export function referenceForward(c: ModelConfig, p: RefParams, batch: TokenBatch): RefForward {
  const [B, T] = checkBatch(c, batch);
  const N = B * T;
  const d = c.hiddenSize;
  const hd = c.headDim;
  const nH = c.numHeads;
  const nKV = c.numKvHeads;
  const grp = nH / nKV;
  const I = c.intermediateSize;
  const V = c.vocabSize;
  const tokens = batch.tokens.flat();
  const pos = positionIds(batch).flat();
  const { cos, sin } = ropeTables(pos, hd, c.ropeTheta);
  const valid = new Uint8Array(B * T * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let s = 0; s <= t; s++)
        valid[(b * T + t) * T + s] = (batch.attentionMask?.[b]?.[s] ?? 1) === 1 ? 1 : 0;
    }
  }
  const E = P(p, "model.embed_tokens.weight");
  let x = new Float64Array(N * d);
  for (let n = 0; n < N; n++)
    x.set(E.subarray((tokens[n] as number) * d, ((tokens[n] as number) + 1) * d), n * d);
  const layers: LayerCache[] = [];
  const scale = 1 / Math.sqrt(hd);
  for (let l = 0; l < c.numLayers; l++) {
    const pre = `model.layers.${l}.`;
    const xIn = x;
    const { y: h1, rstd: rstd1 } = rmsnorm(xIn, N, d, P(p, `${pre}input_layernorm.weight`), c.rmsNormEps);
    const bias = (n: string) => (c.qkvBias ? P(p, `${pre}self_attn.${n}_proj.bias`) : undefined);
    const q = linear(h1, N, d, P(p, `${pre}self_attn.q_proj.weight`), nH * hd, bias("q"));
    const k = linear(h1, N, d, P(p, `${pre}self_attn.k_proj.weight`), nKV * hd, bias("k"));
    const v = linear(h1, N, d, P(p, `${pre}self_attn.v_proj.weight`), nKV * hd, bias("v"));
    rope(q, N, nH, hd, cos, sin, false);
    rope(k, N, nKV, hd, cos, sin, false);
    const probs = new Float64Array(B * nH * T * T);
    const ctx = new Float64Array(N * nH * hd);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < nH; h++) {
        const kh = Math.floor(h / grp);
        for (let t = 0; t < T; t++) {
          const row = ((b * nH + h) * T + t) * T;
          let mx = Number.NEGATIVE_INFINITY;
          const qo = ((b * T + t) * nH + h) * hd;
          for (let s = 0; s <= t; s++) {
            if (!valid[(b * T + t) * T + s]) continue;
            const ko = ((b * T + s) * nKV + kh) * hd;
            let dot = 0;
            for (let i = 0; i < hd; i++) dot += (q[qo + i] as number) * (k[ko + i] as number);
            probs[row + s] = dot * scale;
            if (dot * scale > mx) mx = dot * scale;
          }
          if (mx === Number.NEGATIVE_INFINITY) continue; // no visible key: zero output
          let z = 0;
          for (let s = 0; s <= t; s++) {
            if (!valid[(b * T + t) * T + s]) continue;
            const e = Math.exp((probs[row + s] as number) - mx);
            probs[row + s] = e;
            z += e;
          }
          for (let s = 0; s <= t; s++) {
            if (!valid[(b * T + t) * T + s]) continue;
            const pr = (probs[row + s] as number) / z;
            probs[row + s] = pr;
            const vo = ((b * T + s) * nKV + kh) * hd;
            for (let i = 0; i < hd; i++) ctx[qo + i] = (ctx[qo + i] as number) + pr * (v[vo + i] as number);
          }
        }
      }
    }
    const a = linear(ctx, N, nH * hd, P(p, `${pre}self_attn.o_proj.weight`), d);
    const xMid = new Float64Array(N * d);
    for (let i = 0; i < N * d; i++) xMid[i] = (xIn[i] as number) + (a[i] as number);
    const { y: h2, rstd: rstd2 } = rmsnorm(
      xMid,
      N,
      d,
      P(p, `${pre}post_attention_layernorm.weight`),
      c.rmsNormEps,
    );
    const g = linear(h2, N, d, P(p, `${pre}mlp.gate_proj.weight`), I);
    const u = linear(h2, N, d, P(p, `${pre}mlp.up_proj.weight`), I);
    const m = new Float64Array(N * I);
    for (let i = 0; i < N * I; i++) {
      const gi = g[i] as number;
      m[i] = (gi / (1 + Math.exp(-gi))) * (u[i] as number);
    }
    const mlp = linear(m, N, I, P(p, `${pre}mlp.down_proj.weight`), d);
    const xOut = new Float64Array(N * d);
    for (let i = 0; i < N * d; i++) xOut[i] = (xMid[i] as number) + (mlp[i] as number);
    layers.push({ xIn, h1, rstd1, q, k, v, probs, ctx, xMid, h2, rstd2, g, u, m });
    x = xOut;
  }
  const { y: hf, rstd: rstdF } = rmsnorm(x, N, d, P(p, "model.norm.weight"), c.rmsNormEps);
  const Wlm = c.tieWordEmbeddings ? E : P(p, "lm_head.weight");
  const logits = linear(hf, N, d, Wlm, V);
  return { B, T, logits, cache: { tokens, layers, xFinal: x, hf, rstdF, cos, sin, valid } };
}

/** Gradients of Σ dLogits ⊙ logits for every parameter (HF names). */
export function referenceBackward(
  c: ModelConfig,
  p: RefParams,
  fwd: RefForward,
  dLogits: Float64Array,
): RefParams {
  const { B, T } = fwd;
  const N = B * T;
  const d = c.hiddenSize;
  const hd = c.headDim;
  const nH = c.numHeads;
  const nKV = c.numKvHeads;
  const grp = nH / nKV;
  const I = c.intermediateSize;
  const V = c.vocabSize;
  const cache = fwd.cache;
  const grads: RefParams = {};
  for (const s of parameterSpecs(c)) grads[s.name] = new Float64Array(s.shape.reduce((a, b) => a * b, 1));
  const G = (n: string) => grads[n] as Float64Array;
  const lmName = c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  const dhf = linearBack(dLogits, cache.hf, N, d, P(p, lmName), V, G(lmName));
  let dx = rmsnormBack(
    dhf,
    cache.xFinal,
    cache.rstdF,
    N,
    d,
    P(p, "model.norm.weight"),
    G("model.norm.weight"),
  );
  const scale = 1 / Math.sqrt(hd);
  for (let l = c.numLayers - 1; l >= 0; l--) {
    const pre = `model.layers.${l}.`;
    const L = cache.layers[l] as LayerCache;
    // MLP
    const dm = linearBack(
      dx,
      L.m,
      N,
      I,
      P(p, `${pre}mlp.down_proj.weight`),
      d,
      G(`${pre}mlp.down_proj.weight`),
    );
    const dg = new Float64Array(N * I);
    const du = new Float64Array(N * I);
    for (let i = 0; i < N * I; i++) {
      const gi = L.g[i] as number;
      const sg = 1 / (1 + Math.exp(-gi));
      du[i] = (dm[i] as number) * gi * sg;
      dg[i] = (dm[i] as number) * (L.u[i] as number) * sg * (1 + gi * (1 - sg));
    }
    const dh2a = linearBack(
      dg,
      L.h2,
      N,
      d,
      P(p, `${pre}mlp.gate_proj.weight`),
      I,
      G(`${pre}mlp.gate_proj.weight`),
    );
    const dh2b = linearBack(
      du,
      L.h2,
      N,
      d,
      P(p, `${pre}mlp.up_proj.weight`),
      I,
      G(`${pre}mlp.up_proj.weight`),
    );
    for (let i = 0; i < N * d; i++) dh2a[i] = (dh2a[i] as number) + (dh2b[i] as number);
    const dxm = rmsnormBack(
      dh2a,
      L.xMid,
      L.rstd2,
      N,
      d,
      P(p, `${pre}post_attention_layernorm.weight`),
      G(`${pre}post_attention_layernorm.weight`),
    );
    for (let i = 0; i < N * d; i++) dx[i] = (dx[i] as number) + (dxm[i] as number);
    // attention
    const dctx = linearBack(
      dx,
      L.ctx,
      N,
      nH * hd,
      P(p, `${pre}self_attn.o_proj.weight`),
      d,
      G(`${pre}self_attn.o_proj.weight`),
    );
    const dq = new Float64Array(N * nH * hd);
    const dk = new Float64Array(N * nKV * hd);
    const dv = new Float64Array(N * nKV * hd);
    const dP = new Float64Array(T);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < nH; h++) {
        const kh = Math.floor(h / grp);
        for (let t = 0; t < T; t++) {
          const row = ((b * nH + h) * T + t) * T;
          const qo = ((b * T + t) * nH + h) * hd;
          let dot = 0;
          for (let s = 0; s <= t; s++) {
            if (!cache.valid[(b * T + t) * T + s]) continue;
            const vo = ((b * T + s) * nKV + kh) * hd;
            const pr = L.probs[row + s] as number;
            let acc = 0;
            for (let i = 0; i < hd; i++) {
              const gc = dctx[qo + i] as number;
              acc += gc * (L.v[vo + i] as number);
              dv[vo + i] = (dv[vo + i] as number) + pr * gc;
            }
            dP[s] = acc;
            dot += acc * pr;
          }
          for (let s = 0; s <= t; s++) {
            if (!cache.valid[(b * T + t) * T + s]) continue;
            const pr = L.probs[row + s] as number;
            const dS = pr * ((dP[s] as number) - dot) * scale;
            const ko = ((b * T + s) * nKV + kh) * hd;
            for (let i = 0; i < hd; i++) {
              dq[qo + i] = (dq[qo + i] as number) + dS * (L.k[ko + i] as number);
              dk[ko + i] = (dk[ko + i] as number) + dS * (L.q[qo + i] as number);
            }
          }
        }
      }
    }
    rope(dq, N, nH, hd, cache.cos, cache.sin, true);
    rope(dk, N, nKV, hd, cache.cos, cache.sin, true);
    const bias = (n: string) => (c.qkvBias ? G(`${pre}self_attn.${n}_proj.bias`) : undefined);
    const dh1 = linearBack(
      dq,
      L.h1,
      N,
      d,
      P(p, `${pre}self_attn.q_proj.weight`),
      nH * hd,
      G(`${pre}self_attn.q_proj.weight`),
      bias("q"),
    );
    const dh1k = linearBack(
      dk,
      L.h1,
      N,
      d,
      P(p, `${pre}self_attn.k_proj.weight`),
      nKV * hd,
      G(`${pre}self_attn.k_proj.weight`),
      bias("k"),
    );
    const dh1v = linearBack(
      dv,
      L.h1,
      N,
      d,
      P(p, `${pre}self_attn.v_proj.weight`),
      nKV * hd,
      G(`${pre}self_attn.v_proj.weight`),
      bias("v"),
    );
    for (let i = 0; i < N * d; i++) dh1[i] = (dh1[i] as number) + (dh1k[i] as number) + (dh1v[i] as number);
    const dxi = rmsnormBack(
      dh1,
      L.xIn,
      L.rstd1,
      N,
      d,
      P(p, `${pre}input_layernorm.weight`),
      G(`${pre}input_layernorm.weight`),
    );
    const nx = new Float64Array(N * d);
    for (let i = 0; i < N * d; i++) nx[i] = (dx[i] as number) + (dxi[i] as number);
    dx = nx;
  }
  const dE = G("model.embed_tokens.weight");
  for (let n = 0; n < N; n++) {
    const tok = cache.tokens[n] as number;
    for (let i = 0; i < d; i++) dE[tok * d + i] = (dE[tok * d + i] as number) + (dx[n * d + i] as number);
  }
  return grads;
}

/** log-softmax of one row. */
export function logSoftmaxRow(row: ArrayLike<number>): Float64Array {
  let mx = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < row.length; i++) mx = Math.max(mx, row[i] as number);
  let z = 0;
  for (let i = 0; i < row.length; i++) z += Math.exp((row[i] as number) - mx);
  const lz = mx + Math.log(z);
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = (row[i] as number) - lz;
  return out;
}

export interface RefSequenceLogProbs {
  /** `[B]` Σ over scored tokens of log p(token | prefix). */
  readonly sequence: Float64Array;
  /** `[B·T]` per-token log-probs (0 where not scored). */
  readonly tokens: Float64Array;
  readonly forward: RefForward;
}

/** Sequence log-probs with a response-only mask (the DPO call). */
export function referenceSequenceLogProbs(
  c: ModelConfig,
  p: RefParams,
  batch: ScoredBatch,
): RefSequenceLogProbs {
  const fwd = referenceForward(c, p, batch);
  const { B, T } = fwd;
  const V = c.vocabSize;
  const seq = new Float64Array(B);
  const tok = new Float64Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 1; t < T; t++) {
      if (batch.responseMask[b]?.[t] !== 1) continue;
      const lp = logSoftmaxRow(fwd.logits.subarray((b * T + t - 1) * V, (b * T + t) * V));
      const v = lp[batch.tokens[b]?.[t] as number] as number;
      tok[b * T + t] = v;
      seq[b] = (seq[b] as number) + v;
    }
  }
  return { sequence: seq, tokens: tok, forward: fwd };
}

/** Gradients of Σ_b dSeq[b]·sequence[b] for every parameter. */
export function referenceSequenceLogProbsBackward(
  c: ModelConfig,
  p: RefParams,
  batch: ScoredBatch,
  res: RefSequenceLogProbs,
  dSeq: ArrayLike<number>,
): RefParams {
  const { B, T, logits } = res.forward;
  const V = c.vocabSize;
  const dLogits = new Float64Array(B * T * V);
  for (let b = 0; b < B; b++) {
    for (let t = 1; t < T; t++) {
      if (batch.responseMask[b]?.[t] !== 1) continue;
      const o = (b * T + t - 1) * V;
      const lp = logSoftmaxRow(logits.subarray(o, o + V));
      const g = dSeq[b] as number;
      for (let v = 0; v < V; v++) dLogits[o + v] = -g * Math.exp(lp[v] as number);
      const target = batch.tokens[b]?.[t] as number;
      dLogits[o + target] = (dLogits[o + target] as number) + g;
    }
  }
  return referenceBackward(c, p, res.forward, dLogits);
}
