/** Float64 references for RMSNorm forward and backward over rows of length D. */
export function rmsnormRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  D: number,
  eps: number,
): { y: Float64Array; rstd: Float64Array } {
  const R = x.length / D;
  const y = new Float64Array(x.length);
  const rstd = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let ss = 0;
    for (let d = 0; d < D; d++) ss += (x[r * D + d] as number) ** 2;
    const s = 1 / Math.sqrt(ss / D + eps);
    rstd[r] = s;
    for (let d = 0; d < D; d++) y[r * D + d] = (w[d] as number) * (x[r * D + d] as number) * s;
  }
  return { y, rstd };
}

export function rmsnormBackwardRef(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  D: number,
  eps: number,
): { dx: Float64Array; dweight: Float64Array } {
  const { rstd } = rmsnormRef(x, w, D, eps);
  const R = x.length / D;
  const dx = new Float64Array(x.length);
  const dweight = new Float64Array(D);
  for (let r = 0; r < R; r++) {
    const s = rstd[r] as number;
    let dot = 0;
    for (let d = 0; d < D; d++)
      dot += (dy[r * D + d] as number) * (w[d] as number) * (x[r * D + d] as number) * s;
    for (let d = 0; d < D; d++) {
      const i = r * D + d;
      const xh = (x[i] as number) * s;
      dx[i] = s * ((dy[i] as number) * (w[d] as number) - (xh * dot) / D);
      dweight[d] = (dweight[d] as number) + (dy[i] as number) * xh;
    }
  }
  return { dx, dweight };
}
