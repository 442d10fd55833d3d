/** Float64 references for SwiGLU: `silu(gate) ⊙ up` and its backward. */
const sigmoid = (g: number) => (g >= 0 ? 1 / (1 + Math.exp(-g)) : Math.exp(g) / (1 + Math.exp(g)));

export function swigluRef(gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array {
  return Float64Array.from(gate, (g, i) => g * sigmoid(g) * (up[i] as number));
}

export function swigluBackwardRef(
  dh: ArrayLike<number>,
  gate: ArrayLike<number>,
  up: ArrayLike<number>,
): { dgate: Float64Array; dup: Float64Array } {
  const n = gate.length;
  const dgate = new Float64Array(n);
  const dup = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const g = gate[i] as number;
    const s = sigmoid(g);
    const d = dh[i] as number;
    dgate[i] = d * (up[i] as number) * s * (1 + g * (1 - s));
    dup[i] = d * g * s;
  }
  return { dgate, dup };
}
