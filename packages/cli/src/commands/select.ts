import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import {
  CurriculumError,
  readStatsJsonl,
  type SelectorName,
  type SelectPairsOptions,
  type SelectPairsState,
  selectPairs,
  writeSelectionJsonl,
} from "@sage/curriculum";
import { atomicWriteFile, atomicWriteJson } from "@sage/trainer";
import { loadConfigFile } from "../config.js";
import { CliError } from "../errors.js";
import { type SelectConfig, selectConfigSchema } from "../schemas.js";

export interface SelectCommandOptions {
  readonly stats: string;
  readonly out: string;
  readonly state?: string;
  readonly config?: string;
  readonly selector?: string;
  readonly steps?: number;
  readonly batchSize?: number;
  readonly seed?: number;
  readonly events?: string;
}

export interface SelectCommandResult {
  readonly startStep: number;
  readonly steps: number;
  readonly refreshes: number;
  readonly scoredPairs: number;
  readonly continued: boolean;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new CliError("IO", `cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

async function readState(path: string): Promise<SelectPairsState | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CliError("IO", `cannot read state file ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as SelectPairsState;
  } catch (error) {
    throw new CliError("INPUT_INVALID", `${basename(path)}: not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * `sage select`: selection only, for pairs whose statistics another framework computed.
 * Reads a stats JSONL (`@sage/curriculum`'s `readStatsJsonl` format), continues from `--state`
 * when that file exists, writes one line per step `{"step", "ids"}` and the new state.
 */
export async function selectCommand(o: SelectCommandOptions): Promise<SelectCommandResult> {
  const fileConfig: SelectConfig = o.config ? await loadConfigFile(o.config, selectConfigSchema) : {};
  const statsName = basename(o.stats);
  const text = await readText(o.stats, "stats file");
  const state = o.state ? await readState(o.state) : undefined;
  const curriculum = { ...fileConfig.curriculum };
  if (o.batchSize !== undefined) curriculum.batchSize = o.batchSize;
  if (o.seed !== undefined) curriculum.seed = o.seed;
  const selector = (o.selector ?? fileConfig.selector) as SelectorName | undefined;
  const steps = o.steps ?? fileConfig.steps;
  const options: SelectPairsOptions = {
    ...(state ? {} : curriculum),
    ...(selector !== undefined ? { selector } : {}),
    ...(steps !== undefined ? { steps } : {}),
  } as SelectPairsOptions;
  if (state && Object.keys(curriculum).length > 0) {
    throw new CliError(
      "USAGE",
      `--state ${basename(o.state!)} already holds the selector config; drop --config curriculum fields, --batch-size and --seed when continuing`,
    );
  }
  let result: ReturnType<typeof selectPairs>;
  try {
    const dataset = readStatsJsonl(text);
    result = selectPairs(dataset, state ?? null, options);
  } catch (error) {
    if (error instanceof CurriculumError) {
      const where =
        error.code === "JSONL" || error.code === "MISSING_STATS" || error.code === "INVALID_DATASET"
          ? statsName
          : "selection";
      throw new CliError("INPUT_INVALID", `${where}: ${error.message}`, { cause: error });
    }
    throw error;
  }
  await atomicWriteFile(o.out, writeSelectionJsonl(result));
  if (o.state) await atomicWriteJson(o.state, result.state);
  if (o.events) await atomicWriteFile(o.events, result.events.map((e) => `${JSON.stringify(e)}\n`).join(""));
  return {
    startStep: result.startStep,
    steps: result.batches.length,
    refreshes: result.events.filter((e) => e.type === "refresh").length,
    scoredPairs: result.requests.reduce((s, r) => s + r.pairIds.length, 0),
    continued: state !== undefined,
  };
}
