import {
  type CurriculumConfigInput,
  resolveCurriculumConfig,
  SELECTOR_NAMES,
  type SelectorName,
} from "./config.js";
import { type DatasetInput, datasetInfo } from "./dataset.js";
import { CurriculumError } from "./errors.js";
import { PoolSelector } from "./pool-selector.js";
import type { Selector, SelectorState } from "./selector.js";
import { EpochSelector, RandomSelector } from "./simple-selectors.js";

/** Options of `createSelector`: the dataset plus any config fields (defaults from the spec). */
export type SelectorOptions = CurriculumConfigInput & {
  /** Per-pair metadata (difficulty inputs), or just the pair count for selectors without a curriculum. */
  readonly dataset: DatasetInput;
};

type Restorable = Selector & { load(state: SelectorState): void };

function build(name: SelectorName, options: SelectorOptions, resolved?: SelectorState["config"]): Restorable {
  if (!SELECTOR_NAMES.includes(name)) {
    throw CurriculumError.mismatch(
      "CONFIG_INVALID",
      "selector name",
      `one of ${SELECTOR_NAMES.join(", ")}`,
      name,
    );
  }
  const { dataset, ...rest } = options;
  const config = resolved ?? resolveCurriculumConfig(rest);
  const info = datasetInfo(dataset);
  switch (name) {
    case "uniform":
    case "selective":
      return new EpochSelector(name, config, info.size, info.pairs, info.fingerprint);
    case "random":
      return new RandomSelector(name, config, info.size, info.pairs, info.fingerprint);
    default:
      return new PoolSelector(name, config, info.size, info.pairs, info.fingerprint);
  }
}

/**
 * Build a selector by name: `sage`, `uniform`, `random`, `curriculum-only`, `score-only`,
 * `hard-mining`, `small-margin`, `selective`. Deterministic for a given `seed`.
 */
export function createSelector(name: SelectorName, options: SelectorOptions): Selector {
  return build(name, options);
}

/**
 * A state written before spec v2 has no `competence` and no `stability.scale` field; it was taken
 * with held-out probes and the raw score, so it resumes with those (not with the v2 defaults).
 */
function withPreV2Defaults(config: SelectorState["config"]): CurriculumConfigInput {
  const c = config as Partial<SelectorState["config"]> | undefined;
  if (typeof c !== "object" || c === null) {
    throw CurriculumError.mismatch("STATE_INVALID", "selector state config", "an object", c);
  }
  const stability = { ...c.stability };
  if (stability.scale === undefined) stability.scale = "raw";
  return { ...c, competence: c.competence ?? "probe", stability } as CurriculumConfigInput;
}

/**
 * Restore a selector from `selector.state()` (e.g. a checkpoint). The dataset must be the one the
 * state was taken with (checked by size and fingerprint); the config comes from the state.
 */
export function selectorFromState(state: SelectorState, dataset: DatasetInput): Selector {
  if (typeof state !== "object" || state === null || state.version !== 1) {
    throw CurriculumError.mismatch(
      "STATE_INVALID",
      "selector state",
      "an object from Selector.state() (version 1)",
      state,
    );
  }
  const config = resolveCurriculumConfig(withPreV2Defaults(state.config));
  const s = build(state.name, { dataset }, config);
  s.load(state);
  return s;
}
