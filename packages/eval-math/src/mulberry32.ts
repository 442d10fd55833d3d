/**
 * mulberry32: the one generator of `@sage/eval-math`, internal to it (not exported from the
 * package) and not `@sage/core`'s `Rng`, on purpose (docs/decisions.md, 17). Its streams define
 * results: the synthetic problems, chains and teacher solutions (the sha256 of shipped data in
 * `packages/cli/assets/sft-chains/README.md` and the benchmark's problem sets depend on them) and
 * the grader's numeric check points (their draws decide verdicts; with the core generator a
 * last-digit mutation of `\lfloor\sqrt{n-2}\rfloor` in the agreement test graded equal). Changing it
 * changes that data and those verdicts; do not.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
