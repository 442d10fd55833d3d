/** Float64 references for the elementwise ops. */
export function addRef(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from(a, (x, i) => x + (b[i] as number));
}

export function axpyRef(dst: ArrayLike<number>, src: ArrayLike<number>, alpha = 1): Float64Array {
  return Float64Array.from(dst, (x, i) => x + alpha * (src[i] as number));
}

export function scaleRef(x: ArrayLike<number>, s: number): Float64Array {
  return Float64Array.from(x, (v) => s * v);
}
