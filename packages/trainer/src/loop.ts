import { join } from "node:path";
import { type CheckpointInfo, CheckpointManager, type StateProvider } from "./checkpoint.js";
import { describeValue, TrainerError } from "./errors.js";
import { MetricsLogger, type MetricsRecord } from "./metrics.js";
import { createProgress, type Progress, silentProgress } from "./progress.js";
import { StopController } from "./signals.js";

/*
 * Scaffolding shared by the training loops (`runDpo`, `runSft`): run folder and checkpoints,
 * resume checks, metrics log, stop controller and progress bar. The learning-rate schedule and the
 * optimiser step are stages of the loop (`dpo-stages.ts`, no file access); re-exported here.
 */
export { loopSchedule } from "./dpo-stages.js";

/** The `log` option, or one line per call on stderr. */
export function loopLog(log: ((line: string) => void) | undefined): (line: string) => void {
  return log ?? ((line: string) => process.stderr.write(`${line}\n`));
}

/**
 * The run's checkpoint manager (`<runDir>/checkpoints`) and its newest checkpoint; a run folder
 * that already holds one is only accepted with `resume`.
 */
export async function openCheckpoints(
  runDir: string,
  keepLast: number,
  resume: boolean | undefined,
): Promise<{ checkpoints: CheckpointManager; latest: CheckpointInfo | undefined }> {
  const checkpoints = new CheckpointManager(join(runDir, "checkpoints"), { keepLast });
  const latest = await checkpoints.latest();
  if (latest && !resume) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `${runDir} already has a checkpoint (step ${latest.manifest.step}); resume it or use a new run folder`,
    );
  }
  return { checkpoints, latest };
}

/** The checkpoint provider "policy": the policy's own `saveState` / `loadState`. */
export function policyStateProvider(policy: {
  saveState(dir: string): Promise<void>;
  loadState(dir: string): Promise<void>;
}): StateProvider {
  return {
    name: "policy",
    save: (dir) => policy.saveState(dir),
    load: (dir) => policy.loadState(dir),
  };
}

/**
 * Throws `CONFIG_INVALID` naming the first of `keys` (default: the checkpoint config's own) other
 * than `steps` whose value differs between the checkpoint's config and the run's.
 */
export function checkResumeConfig<C extends object>(
  saved: C,
  config: C,
  keys: readonly (keyof C)[] = Object.keys(saved) as (keyof C)[],
): void {
  for (const key of keys) {
    if (key === "steps") continue;
    if (saved[key] !== config[key]) {
      throw new TrainerError(
        "CONFIG_INVALID",
        `cannot resume with a different config (${String(key)}: checkpoint has ${describeValue(saved[key])}, config has ${describeValue(config[key])})`,
      );
    }
  }
}

/** `<runDir>/metrics.jsonl`, continued from `resumedFrom` when resuming. */
export function openMetrics(runDir: string, resumedFrom: number | undefined): Promise<MetricsLogger> {
  return MetricsLogger.open(
    join(runDir, "metrics.jsonl"),
    resumedFrom === undefined ? {} : { resumeStep: resumedFrom },
  );
}

/** The `stop` option, or a controller of the loop's own that listens for signals (`own`). */
export function loopStop(
  stop: StopController | undefined,
  log: (line: string) => void,
): { stop: StopController; own: boolean } {
  if (stop) return { stop, own: false };
  const own = new StopController();
  own.install(log);
  return { stop: own, own: true };
}

/** The `progress` option: true, a bar (when stderr is a TTY); false or absent, none; or the caller's. */
export function loopProgress(
  option: boolean | Progress | undefined,
  total: number,
  start: number,
  label: string,
): Progress {
  return option === true
    ? createProgress({ total, start, label })
    : option === false || option === undefined
      ? silentProgress
      : option;
}

/** Writes a loop's checkpoints (the metrics log flushed first) and remembers the newest one. */
export class LoopCheckpointer {
  /** The newest checkpoint folder (the one resumed from until the first save). */
  path: string | undefined;
  #step: number | undefined;
  readonly #checkpoints: CheckpointManager;
  readonly #providers: readonly StateProvider[];
  readonly #metrics: MetricsLogger;
  readonly #meta: Record<string, unknown> | undefined;

  constructor(
    checkpoints: CheckpointManager,
    providers: readonly StateProvider[],
    metrics: MetricsLogger,
    latest: CheckpointInfo | undefined,
    meta?: Record<string, unknown>,
  ) {
    this.#checkpoints = checkpoints;
    this.#providers = providers;
    this.#metrics = metrics;
    this.#meta = meta;
    this.path = latest?.path;
    this.#step = latest?.manifest.step;
  }

  async save(step: number): Promise<void> {
    await this.#metrics.flush();
    this.path = await this.#checkpoints.save(step, this.#providers, this.#meta);
    this.#step = step;
  }

  /** Save unless the newest checkpoint is already the one of `step`. */
  async saveIfNew(step: number): Promise<void> {
    if (this.#step !== step) await this.save(step);
  }
}

/** What one training step reports to {@link runTrainingLoop}. */
export interface LoopStep {
  /** The step's `train` record (its `step` is the new step count). */
  readonly record: MetricsRecord;
  /** Values shown on the progress bar. */
  readonly progress: Readonly<Record<string, number>>;
  /** Set when the update was skipped: what was non-finite, and the ids of the batch's items. */
  readonly nonFinite?: { readonly what: string; readonly ids: readonly string[] };
}

/** The parts of a loop's state the driver reads and advances. */
export interface LoopCounters {
  step: number;
  nonFiniteSteps: number;
}

/**
 * The loop both `runDpo` and `runSft` run: until `steps`, a stop request (→ `"interrupted"`) or
 * `maxNonFinite` skipped updates (→ `"nonfinite"`, no new checkpoint): one `step()` (which
 * advances `counters.step`), its non-finite event, the `train` record, the progress bar, the
 * caller's `onStep`, the periodic evaluation and checkpoint, and a final checkpoint; then the
 * progress bar, the metrics log and an own stop controller are closed whatever happened.
 */
export async function runTrainingLoop(o: {
  readonly steps: number;
  readonly counters: LoopCounters;
  readonly config: {
    readonly maxNonFinite: number;
    readonly checkpointEvery: number;
    readonly evalEvery?: number;
  };
  /** How skipped batches are named in the log and the `nonfinite` event (`pairs` / `pair_ids`). */
  readonly items: { readonly word: string; readonly key: string };
  /** The run's folder, checkpoints and what they hold (`openCheckpoints`; `latest` resumed from). */
  readonly runDir: string;
  readonly checkpoints: CheckpointManager;
  readonly providers: readonly StateProvider[];
  readonly latest: CheckpointInfo | undefined;
  readonly resumedFrom: number | undefined;
  /** Extra fields of every checkpoint manifest. */
  readonly meta?: Record<string, unknown>;
  /** The caller's `stop` and `progress` options, and the progress bar's label. */
  readonly stop: StopController | undefined;
  readonly progress: boolean | Progress | undefined;
  readonly label: string;
  readonly log: (line: string) => void;
  readonly onStep?: ((record: MetricsRecord) => void | Promise<void>) | undefined;
  readonly evaluate?: ((step: number) => Promise<Readonly<Record<string, unknown>>>) | undefined;
  readonly step: () => Promise<LoopStep>;
}): Promise<{
  status: "completed" | "interrupted" | "nonfinite";
  /** The newest checkpoint folder. */
  checkpoint: string | undefined;
  metricsPath: string;
  signal: StopController["signal"];
}> {
  const { counters, config } = o;
  const metrics = await openMetrics(o.runDir, o.resumedFrom);
  const { stop, own: ownStop } = loopStop(o.stop, o.log);
  const progress = loopProgress(o.progress, o.steps, counters.step, o.label);
  const saver = new LoopCheckpointer(o.checkpoints, o.providers, metrics, o.latest, o.meta);
  let status: "completed" | "interrupted" | "nonfinite" = "completed";
  try {
    while (counters.step < o.steps) {
      if (stop.requested) {
        status = "interrupted";
        break;
      }
      const s = await o.step();
      if (s.nonFinite) {
        counters.nonFiniteSteps += 1;
        o.log(
          `step ${counters.step}: non-finite ${s.nonFinite.what}; update skipped (${counters.nonFiniteSteps}/${config.maxNonFinite}); ${o.items.word} ${s.nonFinite.ids.join(", ")}`,
        );
        await metrics.log({
          event: "nonfinite",
          step: counters.step,
          what: s.nonFinite.what,
          [o.items.key]: [...s.nonFinite.ids],
          count: counters.nonFiniteSteps,
        });
      }
      await metrics.log(s.record);
      progress.update(counters.step, { ...s.progress });
      await o.onStep?.(s.record);
      if (counters.nonFiniteSteps >= config.maxNonFinite) {
        o.log(
          `stopping: ${counters.nonFiniteSteps} non-finite steps (maxNonFinite); last good checkpoint ${saver.path ?? "none"}`,
        );
        status = "nonfinite";
        break;
      }
      const every = config.evalEvery ?? 0;
      if (every > 0 && counters.step % every === 0 && o.evaluate) {
        const results = await o.evaluate(counters.step);
        await metrics.log({ ...results, event: "eval", step: counters.step });
      }
      if (counters.step % config.checkpointEvery === 0) await saver.save(counters.step);
    }
    if (status !== "nonfinite") await saver.saveIfNew(counters.step);
  } finally {
    progress.stop();
    await metrics.close();
    if (ownStop) stop.dispose();
  }
  return { status, checkpoint: saver.path, metricsPath: metrics.path, signal: stop.signal };
}
