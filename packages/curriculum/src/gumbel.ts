import type { Rng } from "@sage/stability";

/**
 * Gumbel-top-k ordering: sorting by `S_i / τ + G_i` (G_i standard Gumbel) draws items without
 * replacement with probabilities ∝ `exp(S_i / τ)` (Plackett–Luce); `τ = 0` is deterministic
 * top-k. Items are sorted by `(class ascending, key descending, index ascending)`, so a lower
 * class (e.g. eligible before trivial) always comes first. Returns positions `0..n−1`.
 */
export function gumbelOrder(
  scores: ArrayLike<number> | null,
  classes: ArrayLike<number>,
  tau: number,
  rng: Rng,
): Int32Array {
  const n = classes.length;
  const key = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = scores === null ? 0 : scores[i]!;
    key[i] = tau > 0 ? s / tau + rng.nextGumbel() : s;
  }
  const order = Int32Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => classes[a]! - classes[b]! || key[b]! - key[a]! || a - b);
  return order;
}

/** Gumbel-top-k: the k positions with the largest perturbed keys. */
export function gumbelTopK(scores: ArrayLike<number>, k: number, tau: number, rng: Rng): Int32Array {
  const order = gumbelOrder(scores, new Uint8Array(scores.length), tau, rng);
  return order.slice(0, Math.min(k, order.length));
}
