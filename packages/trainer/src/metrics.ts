import { type FileHandle, mkdir, open, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { JsonlError, jsonlLines, parseJsonlLine } from "@sage/core";
import { atomicWriteFile } from "./atomic.js";
import { TrainerError } from "./errors.js";

/** TRL's DPO metric names, logged every step with the same meaning as in TRL's DPOTrainer. */
export const TRL_METRIC_NAMES = [
  "loss",
  "rewards/chosen",
  "rewards/rejected",
  "rewards/margins",
  "rewards/accuracies",
  "logps/chosen",
  "logps/rejected",
  "grad_norm",
  "learning_rate",
] as const;

/** SAGE's selection metrics (present when the selector reports them). */
export const SAGE_METRIC_NAMES = [
  "sage/frontier",
  "sage/competence",
  "sage/pool_size",
  "sage/eligible",
  "sage/filtered_unstable",
  "sage/filtered_trivial",
  "sage/score_min",
  "sage/score_q25",
  "sage/score_median",
  "sage/score_q75",
  "sage/score_max",
  "sage/scoring_time_share",
] as const;

/** One line of the metrics log: a training step (`event: "train"`) or another event. */
export interface MetricsRecord {
  readonly event: string;
  readonly step: number;
  readonly [key: string]: unknown;
}

/**
 * Appends one JSON object per line to a metrics log. Opening with `resumeStep` keeps only the
 * records of steps ≤ `resumeStep` (what the checkpoint saw), so a resumed run's log equals an
 * uninterrupted run's. A torn last line (a killed writer) is dropped; a bad line elsewhere throws.
 */
export class MetricsLogger {
  readonly path: string;
  #handle: FileHandle;

  private constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.#handle = handle;
  }

  static async open(path: string, options: { readonly resumeStep?: number } = {}): Promise<MetricsLogger> {
    await mkdir(dirname(path), { recursive: true });
    if (options.resumeStep === undefined) {
      await atomicWriteFile(path, "");
    } else {
      const kept = (await readMetrics(path, { allowTornTail: true, allowMissing: true })).filter(
        (r) => r.step <= options.resumeStep!,
      );
      await atomicWriteFile(path, kept.map((r) => `${JSON.stringify(r)}\n`).join(""));
    }
    return new MetricsLogger(path, await open(path, "a"));
  }

  async log(record: MetricsRecord): Promise<void> {
    await this.#handle.write(`${JSON.stringify(record)}\n`);
  }

  /** fsync the log (done before each checkpoint). */
  async flush(): Promise<void> {
    await this.#handle.sync();
  }

  async close(): Promise<void> {
    await this.#handle.sync();
    await this.#handle.close();
  }
}

/** Read a metrics log. */
export async function readMetrics(
  path: string,
  options: { readonly allowTornTail?: boolean; readonly allowMissing?: boolean } = {},
): Promise<MetricsRecord[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (options.allowMissing && (error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const lastLine = text.split("\n").length;
  const out: MetricsRecord[] = [];
  for (const { line: n, text: line } of jsonlLines(text)) {
    try {
      const r = parseJsonlLine(line, n, path) as MetricsRecord;
      if (typeof r !== "object" || r === null || typeof r.step !== "number" || typeof r.event !== "string") {
        throw new Error("expected an object with numeric `step` and string `event`");
      }
      out.push(r);
    } catch (error) {
      const isTail = n === lastLine; // no newline after it: the writer was cut off
      if (isTail && options.allowTornTail) break;
      const why = error instanceof JsonlError ? (error.cause as Error).message : (error as Error).message;
      throw new TrainerError("DATA_INVALID", `${path}:${n}: bad metrics line (${why})`);
    }
  }
  return out;
}
