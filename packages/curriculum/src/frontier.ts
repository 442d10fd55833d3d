/** Frontier of the curriculum: the highest unlocked stratum and the stall counter. */
export interface FrontierState {
  /** Highest unlocked stratum (strata 0..frontier are unlocked). */
  readonly frontier: number;
  /** Refreshes since the frontier last moved. */
  readonly refreshesWithoutAdvance: number;
}

export type AdvanceReason = "competence" | "stall" | null;

/**
 * The frontier rule (spec, "Frontier"), applied once per refresh: if the competence of the highest
 * unlocked stratum is ≥ `cAdv`, the next stratum unlocks; otherwise the stall counter grows, and
 * after `maxRefreshes` refreshes without advancing the next stratum unlocks anyway. A `null`
 * competence (empty probe set) never advances by competence. Nothing happens past the last stratum.
 */
export function advanceFrontier(
  state: FrontierState,
  competence: readonly (number | null)[],
  options: { readonly nStrata: number; readonly cAdv: number; readonly maxRefreshes: number },
): { state: FrontierState; advanced: AdvanceReason } {
  const last = options.nStrata - 1;
  if (state.frontier >= last)
    return { state: { frontier: last, refreshesWithoutAdvance: 0 }, advanced: null };
  const c = competence[state.frontier];
  if (c !== null && c !== undefined && c >= options.cAdv) {
    return { state: { frontier: state.frontier + 1, refreshesWithoutAdvance: 0 }, advanced: "competence" };
  }
  const stalled = state.refreshesWithoutAdvance + 1;
  if (stalled >= options.maxRefreshes) {
    return { state: { frontier: state.frontier + 1, refreshesWithoutAdvance: 0 }, advanced: "stall" };
  }
  return { state: { frontier: state.frontier, refreshesWithoutAdvance: stalled }, advanced: null };
}

/** Reward accuracy: fraction of margins `m > 0`; `null` for an empty set. */
export function rewardAccuracy(margins: ArrayLike<number>): number | null {
  if (margins.length === 0) return null;
  let c = 0;
  for (let i = 0; i < margins.length; i++) if (margins[i]! > 0) c++;
  return c / margins.length;
}
