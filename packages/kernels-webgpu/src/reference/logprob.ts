/**
 * Float64 references for the fused token log-prob kernels (see `kernels/logprob.ts`).
 * Inputs are row-major [N, V]; ids equal to `ignoreIndex` give logp 0 and a zero gradient row.
 */

/** logp[n] = logits[n, t_n] − lse[n] and lse[n] = log Σ_v exp(logits[n, v]), in float64. */
export function tokenLogprobsRef(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  N: number,
  V: number,
  ignoreIndex = -100,
): { logp: Float64Array; lse: Float64Array } {
  const logp = new Float64Array(N);
  const lse = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let m = Number.NEGATIVE_INFINITY;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[n * V + v] as number);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp((logits[n * V + v] as number) - m);
    const l = m + Math.log(s);
    lse[n] = l;
    const t = targets[n] as number;
    if (t === ignoreIndex) logp[n] = 0;
    else if (t < 0 || t >= V || !Number.isInteger(t))
      throw new RangeError(`target ${t} at ${n} outside [0, ${V})`);
    else logp[n] = (logits[n * V + t] as number) - l;
  }
  return { logp, lse };
}

/** dlogits[n, v] = g[n] · (1[v = t_n] − exp(logits[n, v] − lse[n])); zero rows where t_n is ignored. */
export function tokenLogprobsBackwardRef(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  lse: ArrayLike<number>,
  g: ArrayLike<number>,
  N: number,
  V: number,
  ignoreIndex = -100,
): Float64Array {
  const d = new Float64Array(N * V);
  for (let n = 0; n < N; n++) {
    const t = targets[n] as number;
    if (t === ignoreIndex) continue;
    const gn = g[n] as number;
    const l = lse[n] as number;
    for (let v = 0; v < V; v++) d[n * V + v] = -gn * Math.exp((logits[n * V + v] as number) - l);
    d[n * V + t] = (d[n * V + t] as number) + gn;
  }
  return d;
}
