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
   * Stop once this much time is spent, even below `minReps` (keeps very slow cells, e.g. a peer
   * on the 10 GB case, from dominating the run; one such repetition already averages over
   * dozens of blocks).
   */
  capMs: number;
}

export async function repeat(fn: () => Promise<void>, o: RepeatOptions): Promise<number[]> {
  for (let i = 0; i < o.warmup; i++) await fn();
  const samples: number[] = [];
  let spent = 0;
  while (needsMore(samples, spent, o)) {
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

function needsMore(samples: readonly number[], spent: number, o: RepeatOptions): boolean {
  const n = samples.length;
  return n < o.maxReps && (n < o.minReps || spent < o.budgetMs) && !(n >= 1 && spent >= o.capMs);
}

/**
 * Time several implementations in rounds: each round runs every implementation that still needs
 * samples once, in turn. On a shared machine the load then drifts over all of them alike, so
 * their ratios stay fair. Each key gets its own stopping rule (as in {@link repeat}); a key whose
 * function throws is dropped from the rounds and its error returned.
 */
export async function repeatInterleaved<K>(
  fns: ReadonlyMap<K, () => Promise<void>>,
  o: RepeatOptions,
): Promise<{ samples: Map<K, number[]>; errors: Map<K, unknown> }> {
  const samples = new Map<K, number[]>([...fns.keys()].map((k) => [k, []]));
  const spent = new Map<K, number>([...fns.keys()].map((k) => [k, 0]));
  const errors = new Map<K, unknown>();
  for (let i = 0; i < o.warmup; i++) {
    for (const [k, fn] of fns) {
      if (errors.has(k)) continue;
      try {
        await fn();
      } catch (e) {
        errors.set(k, e);
      }
    }
  }
  for (;;) {
    let ran = false;
    for (const [k, fn] of fns) {
      const s = samples.get(k) as number[];
      if (errors.has(k) || !needsMore(s, spent.get(k) ?? 0, o)) continue;
      ran = true;
      try {
        const t0 = performance.now();
        await fn();
        const ms = performance.now() - t0;
        s.push(ms);
        spent.set(k, (spent.get(k) ?? 0) + ms);
      } catch (e) {
        errors.set(k, e);
      }
    }
    if (!ran) return { samples, errors };
  }
}
