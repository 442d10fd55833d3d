/** Float64 reference for {@link matmul}: C[b] = op(A[b])·op(B[b]) (+ bias) (+ C_in). */
export interface MatmulRefOptions {
  M: number;
  N: number;
  K: number;
  /** Number of batches (default 1). */
  batch?: number;
  /** A is stored [K, M] (per batch) and used transposed. */
  transA?: boolean;
  /** B is stored [N, K] (per batch) and used transposed. */
  transB?: boolean;
  /** A has a leading batch dimension (else broadcast over batches). Default: batch > 1. */
  aBatched?: boolean;
  bBatched?: boolean;
  bias?: ArrayLike<number>;
  /** Existing output to add to (C += …). */
  accumulate?: ArrayLike<number>;
}

export function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, o: MatmulRefOptions): Float64Array {
  const { M, N, K } = o;
  const batch = o.batch ?? 1;
  const sa = (o.aBatched ?? batch > 1) ? M * K : 0;
  const sb = (o.bBatched ?? batch > 1) ? K * N : 0;
  const c = new Float64Array(batch * M * N);
  for (let p = 0; p < batch; p++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = a[p * sa + (o.transA ? k * M + m : m * K + k)] as number;
          const bv = b[p * sb + (o.transB ? n * K + k : k * N + n)] as number;
          s += av * bv;
        }
        const i = p * M * N + m * N + n;
        if (o.bias) s += o.bias[n] as number;
        if (o.accumulate) s += o.accumulate[i] as number;
        c[i] = s;
      }
    }
  }
  return c;
}
