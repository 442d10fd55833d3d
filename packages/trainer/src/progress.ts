import { createRequire } from "node:module";

interface SingleBarLike {
  start(total: number, start: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
}
interface CliProgressModule {
  SingleBar: new (options: Record<string, unknown>, preset?: unknown) => SingleBarLike;
  Presets: { shades_classic: unknown };
}

/** A terminal progress bar: step count, ETA and a few live metrics. */
export interface Progress {
  update(step: number, values?: Readonly<Record<string, number | string>>): void;
  stop(): void;
}

export interface ProgressOptions {
  readonly total: number;
  /** Bar title, e.g. "dpo sage". Default "train". */
  readonly label?: string;
  /** Starting value (a resumed run starts at its checkpoint step). Default 0. */
  readonly start?: number;
  /** Where to draw. Default `process.stderr`. */
  readonly stream?: NodeJS.WritableStream;
  /** Draw even when `stream` is not a TTY (tests). Default: only on a TTY. */
  readonly force?: boolean;
}

/** A progress bar that does nothing (not a TTY, or `progress: false`). */
export const silentProgress: Progress = { update() {}, stop() {} };

function format(values: Readonly<Record<string, number | string>>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k} ${typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : v}`)
    .join(" | ");
}

/** Create a cli-progress bar with ETA (`{eta_formatted}`); silent when the stream is not a TTY. */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const isTty = (stream as NodeJS.WriteStream).isTTY === true;
  if (!isTty && !options.force) return silentProgress;
  const cliProgress = createRequire(import.meta.url)("cli-progress") as CliProgressModule;
  const bar = new cliProgress.SingleBar(
    {
      format: `${options.label ?? "train"} |{bar}| {value}/{total} steps | ETA {eta_formatted} | {info}`,
      stream,
      etaBuffer: 20,
      fps: 5,
      noTTYOutput: !isTty,
      notTTYSchedule: 1000,
      hideCursor: isTty,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(options.total, options.start ?? 0, { info: "" });
  return {
    update(step, values = {}) {
      bar.update(step, { info: format(values) });
    },
    stop() {
      bar.stop();
    },
  };
}
