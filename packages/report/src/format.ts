import type { Interval, Ratio } from "./types.js";

/** `0.6234` → `62.3%`. */
export const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** A signed difference of proportions in percentage points: `0.041` → `+4.1 points`. */
export const points = (x: number): string => `${x >= 0 ? "+" : "−"}${Math.abs(x * 100).toFixed(1)} points`;

/** Steps, rounded to an integer (interpolated crossings are fractional). */
export const steps = (x: number): string => `${Math.round(x)}`;

/** Milliseconds as seconds or minutes. */
export function duration(ms: number): string {
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(1)} s`;
  return `${(s / 60).toFixed(1)} min`;
}

/** A ratio: `0.4512` → `0.45×`. */
export const times = (x: number): string => `${x.toFixed(2)}×`;

/** `value [lo, hi]` with `fmt`, or `value (1 seed)` when there are no bounds. */
export function interval(iv: Interval, fmt: (x: number) => string): string {
  if (iv.lo === null || iv.hi === null)
    return `${fmt(iv.mean)} (${iv.n} seed${iv.n === 1 ? "" : "s"}, no interval)`;
  return `${fmt(iv.mean)} [${fmt(iv.lo)}, ${fmt(iv.hi)}]`;
}

/** `0.45× [0.40×, 0.52×]`. */
export function ratio(r: Ratio): string {
  if (r.lo === null || r.hi === null) return times(r.value);
  return `${times(r.value)} [${times(r.lo)}, ${times(r.hi)}]`;
}
