/** Float64 references for the embedding gather and its scatter-add backward. */
export function embeddingRef(weight: ArrayLike<number>, ids: ArrayLike<number>, D: number): Float64Array {
  const out = new Float64Array(ids.length * D);
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t] as number;
    for (let d = 0; d < D; d++) out[t * D + d] = weight[id * D + d] as number;
  }
  return out;
}

export function embeddingBackwardRef(
  dY: ArrayLike<number>,
  ids: ArrayLike<number>,
  vocab: number,
  D: number,
): Float64Array {
  const dW = new Float64Array(vocab * D);
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t] as number;
    for (let d = 0; d < D; d++) dW[id * D + d] = (dW[id * D + d] as number) + (dY[t * D + d] as number);
  }
  return dW;
}
