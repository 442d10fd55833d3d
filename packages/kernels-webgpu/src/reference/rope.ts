/**
 * Rotary position embeddings as Hugging Face Llama/Qwen2 compute them (`rotate_half`
 * convention): for `i < Dh/2`, angle `a = pos·inv_freq[i]`,
 * `y[i] = x[i]·cos a − x[i+Dh/2]·sin a`, `y[i+Dh/2] = x[i+Dh/2]·cos a + x[i]·sin a`.
 *
 * HF computes `inv_freq = 1/θ^(2i/Dh)` and `pos·inv_freq` in float32; {@link ropeAngle} rounds
 * the same way (so large positions give HF's angles), then cos/sin are taken in float64.
 */
export function ropeInvFreq(headDim: number, theta: number): Float64Array {
  const half = headDim / 2;
  return Float64Array.from({ length: half }, (_, i) =>
    Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / headDim))),
  );
}

export function ropeAngle(invFreq: number, pos: number): number {
  return Math.fround(invFreq * Math.fround(pos));
}

/**
 * Apply RoPE to `x` laid out `[N, H, Dh]` (N tokens, e.g. B·T) with one position per token.
 * `inverse` rotates by −angle (the backward / transpose).
 */
export function ropeRef(
  x: ArrayLike<number>,
  positions: ArrayLike<number>,
  H: number,
  Dh: number,
  theta: number,
  inverse = false,
): Float64Array {
  const half = Dh / 2;
  const inv = ropeInvFreq(Dh, theta);
  const y = new Float64Array(x.length);
  const N = positions.length;
  for (let n = 0; n < N; n++) {
    const p = positions[n] as number;
    for (let h = 0; h < H; h++) {
      const base = (n * H + h) * Dh;
      for (let i = 0; i < half; i++) {
        const a = ropeAngle(inv[i] as number, p);
        const c = Math.cos(a);
        const s = inverse ? -Math.sin(a) : Math.sin(a);
        const x1 = x[base + i] as number;
        const x2 = x[base + i + half] as number;
        y[base + i] = x1 * c - x2 * s;
        y[base + i + half] = x2 * c + x1 * s;
      }
    }
  }
  return y;
}

/**
 * Position ids for a padded batch as HF generation builds them: `cumsum(mask) − 1`, padding
 * positions set to 1. `mask` is `[B, T]` row-major (non-zero = real token); `offset` is added to
 * every real position (KV-cache continuation).
 */
export function positionsFromMask(mask: ArrayLike<number>, B: number, T: number, offset = 0): Int32Array {
  const pos = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let c = 0;
    for (let t = 0; t < T; t++) {
      const real = (mask[b * T + t] as number) !== 0;
      if (real) c++;
      pos[b * T + t] = real ? c - 1 + offset : 1;
    }
  }
  return pos;
}
