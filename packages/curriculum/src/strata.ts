import { deriveSeed, Rng } from "@sage/stability";

/** Difficulty strata with their held-out probe sets. Arrays hold dataset indices. */
export interface Strata {
  /** Number of strata actually used: `min(nStrata, n)`. */
  readonly count: number;
  /** Stratum of each pair (0 = easiest). */
  readonly stratumOf: Uint16Array;
  /** Training pairs of each stratum (probes removed), ascending index order. */
  readonly train: readonly Int32Array[];
  /** Probe pairs of each stratum (held out of training). */
  readonly probes: readonly Int32Array[];
}

/**
 * Equal-count strata by difficulty quantile, easiest first: pairs are ranked by difficulty (ties
 * broken by a seeded hash of the index, so equal labels spread over strata at random), and rank r
 * goes to stratum `floor(r · S / n)` with `S = min(nStrata, n)`. From each stratum
 * `min(probeSize, floor(size / 2))` pairs are drawn at random as its probe set.
 */
export function buildStrata(
  difficulty: Float64Array,
  nStrata: number,
  probeSize: number,
  seed: number,
): Strata {
  const n = difficulty.length;
  const count = Math.max(1, Math.min(nStrata, n));
  const tie = new Uint32Array(n);
  for (let i = 0; i < n; i++) tie[i] = deriveSeed(seed, 0x57a7, i);
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => difficulty[a]! - difficulty[b]! || tie[a]! - tie[b]! || a - b);
  const stratumOf = new Uint16Array(n);
  const members: number[][] = Array.from({ length: count }, () => []);
  for (let r = 0; r < n; r++) {
    const s = Math.floor((r * count) / n);
    stratumOf[order[r]!] = s;
    members[s]!.push(order[r]!);
  }
  const rng = new Rng(deriveSeed(seed, 0x9b0e));
  const train: Int32Array[] = [];
  const probes: Int32Array[] = [];
  for (const m of members) {
    m.sort((a, b) => a - b);
    const take = Math.min(probeSize, Math.floor(m.length / 2));
    const shuffled = Int32Array.from(m);
    // partial Fisher–Yates: the first `take` entries become the probe set
    for (let i = 0; i < take; i++) {
      const j = i + rng.int(shuffled.length - i);
      const t = shuffled[i]!;
      shuffled[i] = shuffled[j]!;
      shuffled[j] = t;
    }
    probes.push(shuffled.slice(0, take).sort());
    train.push(shuffled.slice(take).sort());
  }
  return { count, stratumOf, train, probes };
}
