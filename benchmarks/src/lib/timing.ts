/**
 * Repetition timing with wall-clock `performance.now()`. The measured function must wait for the
 * GPU (read back or `ctx.sync()`) before it resolves, so each sample covers the whole work.
 */
export interface RepeatOptions {
  /** Untimed calls first (pipeline compiles, first-touch allocation). */
  warmup: number;
  /** Timed calls: at least `minReps`, then more until `budgetMs` is spent or `maxReps` reached. */
  minReps: number;
  maxReps: number;
  budgetMs: number;
  /**
   * Stop once this much time is spent and at least two samples exist, even below `minReps`
   * (keeps very slow cells, e.g. a peer on a 10 GB case, from dominating the run).
   */
  capMs: number;
}

export async function repeat(fn: () => Promise<void>, o: RepeatOptions): Promise<number[]> {
  for (let i = 0; i < o.warmup; i++) await fn();
  const samples: number[] = [];
  let spent = 0;
  while (
    samples.length < o.maxReps &&
    (samples.length < o.minReps || spent < o.budgetMs) &&
    !(samples.length >= 2 && spent >= o.capMs)
  ) {
    const t0 = performance.now();
    await fn();
    const ms = performance.now() - t0;
    samples.push(ms);
    spent += ms;
  }
  return samples;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Round to `digits` significant digits (for JSON and tables). */
export function sig(x: number, digits = 4): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(digits));
}
