/**
 * Float64 references for the sequence reductions (see `kernels/seqreduce.ts`).
 * `ranges` are flat (start, end) pairs; `mask` weights default to 1.
 */

export interface SeqRef {
  sum: Float64Array;
  mean: Float64Array;
  count: Float64Array;
}

/** Padded batch [S, T] → ranges of its rows. */
export function rowRanges(S: number, T: number): Uint32Array {
  const r = new Uint32Array(2 * S);
  for (let s = 0; s < S; s++) {
    r[2 * s] = s * T;
    r[2 * s + 1] = (s + 1) * T;
  }
  return r;
}

export function sequenceLogprobsRef(
  logp: ArrayLike<number>,
  ranges: ArrayLike<number>,
  mask?: ArrayLike<number>,
): SeqRef {
  const S = ranges.length / 2;
  const sum = new Float64Array(S);
  const mean = new Float64Array(S);
  const count = new Float64Array(S);
  for (let s = 0; s < S; s++) {
    let a = 0;
    let c = 0;
    for (let n = ranges[2 * s] as number; n < (ranges[2 * s + 1] as number); n++) {
      const w = mask ? (mask[n] as number) : 1;
      a += w * (logp[n] as number);
      c += w;
    }
    sum[s] = a;
    count[s] = c;
    mean[s] = c !== 0 ? a / c : 0;
  }
  return { sum, mean, count };
}

/** dlogp[n] = w[n]·(gSum[s] + gMean[s]/count[s]) over each (disjoint) range, 0 elsewhere. */
export function sequenceLogprobsBackwardRef(
  N: number,
  ranges: ArrayLike<number>,
  gSum: ArrayLike<number> | undefined,
  gMean: ArrayLike<number> | undefined,
  mask?: ArrayLike<number>,
): Float64Array {
  const S = ranges.length / 2;
  const d = new Float64Array(N);
  const { count } = sequenceLogprobsRef(new Float64Array(N), ranges, mask);
  for (let s = 0; s < S; s++) {
    const c = count[s] as number;
    const coef = (gSum ? (gSum[s] as number) : 0) + (gMean && c !== 0 ? (gMean[s] as number) / c : 0);
    for (let n = ranges[2 * s] as number; n < (ranges[2 * s + 1] as number); n++) {
      d[n] = (mask ? (mask[n] as number) : 1) * coef;
    }
  }
  return d;
}

/**
 * K weighted masks `drop` [K, N]: per (k, s) kept = Σ w·d, count = Σ w,
 * sum = (Σ w·d·logp)·count/kept (0 when kept is 0).
 */
export function maskedSequenceSumsRef(
  logp: ArrayLike<number>,
  ranges: ArrayLike<number>,
  drop: ArrayLike<number>,
  K: number,
  mask?: ArrayLike<number>,
): { sum: Float64Array; kept: Float64Array; count: Float64Array } {
  const S = ranges.length / 2;
  const N = logp.length;
  const sum = new Float64Array(K * S);
  const kept = new Float64Array(K * S);
  const count = new Float64Array(K * S);
  for (let k = 0; k < K; k++) {
    for (let s = 0; s < S; s++) {
      let a = 0;
      let c = 0;
      let kw = 0;
      for (let n = ranges[2 * s] as number; n < (ranges[2 * s + 1] as number); n++) {
        const w = mask ? (mask[n] as number) : 1;
        const d = drop[k * N + n] as number;
        a += w * d * (logp[n] as number);
        c += w;
        kw += w * d;
      }
      sum[k * S + s] = kw !== 0 ? (a * c) / kw : 0;
      kept[k * S + s] = kw;
      count[k * S + s] = c;
    }
  }
  return { sum, kept, count };
}
