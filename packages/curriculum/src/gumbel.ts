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
    key[i] = tau > 0 ? s / tau + rng.gumbel() : s;
  }
  const order = Int32Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => classes[a]! - classes[b]! || key[b]! - key[a]! || a - b);
  return order;
}

/**
 * Gumbel-top-k: the k positions with the largest perturbed keys `S/τ + G` (τ = 0: largest S), in
 * descending key order (ties by position). O(n + k log k) by quickselect, for pools of 10⁶ pairs.
 */
export function gumbelTopK(scores: ArrayLike<number>, k: number, tau: number, rng: Rng): Int32Array {
  const n = scores.length;
  const key = new Float64Array(n);
  for (let i = 0; i < n; i++) key[i] = tau > 0 ? scores[i]! / tau + rng.gumbel() : scores[i]!;
  const m = Math.max(0, Math.min(k, n));
  // "a before b": larger key first, then smaller position
  const before = (a: number, b: number) => key[a]! > key[b]! || (key[a] === key[b] && a < b);
  if (m <= 4096 && m * 16 <= n) return heapTopK(key, m, before);
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  let lo = 0;
  let hi = n - 1;
  while (m > 0 && m < n && lo < hi) {
    // Hoare-style partition around the middle element; loop invariant: the m-th item lies in [lo, hi]
    const pivot = idx[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (before(idx[i]!, pivot)) i++;
      while (before(pivot, idx[j]!)) j--;
      if (i <= j) {
        const t = idx[i]!;
        idx[i] = idx[j]!;
        idx[j] = t;
        i++;
        j--;
      }
    }
    if (m - 1 <= j) hi = j;
    else if (m - 1 >= i) lo = i;
    else break;
  }
  const top = idx.slice(0, m);
  top.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  return top;
}

/** Top m by a bounded heap whose root is the worst kept item: O(n log m), mostly one compare per item. */
function heapTopK(key: Float64Array, m: number, before: (a: number, b: number) => boolean): Int32Array {
  const heap = new Int32Array(m);
  let size = 0;
  const siftDown = (start: number) => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let worst = i;
      if (l < size && before(heap[worst]!, heap[l]!)) worst = l;
      if (r < size && before(heap[worst]!, heap[r]!)) worst = r;
      if (worst === i) return;
      const t = heap[i]!;
      heap[i] = heap[worst]!;
      heap[worst] = t;
      i = worst;
    }
  };
  for (let x = 0; x < key.length; x++) {
    if (size < m) {
      // sift up
      let i = size++;
      heap[i] = x;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!before(heap[p]!, heap[i]!)) break;
        const t = heap[p]!;
        heap[p] = heap[i]!;
        heap[i] = t;
        i = p;
      }
    } else if (m > 0 && before(x, heap[0]!)) {
      heap[0] = x;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
}
