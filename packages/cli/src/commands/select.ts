import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { createInterface } from "node:readline";
import { SageError } from "@sage/core";
// the light subpath: the trainer's main entry loads the model and GPU stack (seconds of start-up)
import { writeFileAtomic as atomicWriteFile, writeJsonAtomic as atomicWriteJson } from "@sage/core/node";
import {
  type CurriculumConfigInput,
  CurriculumError,
  type DatasetPair,
  type PairRow,
  readPairsJsonl,
  readStatsJsonl,
  type ScoringPlan,
  SelectionSession,
  type SelectorName,
  type SelectPairsState,
  type StatsLookup,
  writePairRowsJsonl,
  writePlanJsonl,
  writeSelectionJsonl,
} from "@sage/curriculum";
import { loadConfigFile } from "../config.js";
import { CliError } from "../errors.js";
import { type SelectConfig, selectConfigSchema } from "../schemas.js";
import { stripUndefined } from "../strip.js";

export interface SelectCommandOptions {
  /** A statistics JSONL holding every pair (the older form; `id` required). */
  readonly stats?: string;
  /** A TRL pairs JSONL (`prompt`, `chosen`, `rejected`, optional `id`, difficulty inputs). */
  readonly pairs?: string;
  /** Statistics of the planned pairs (the `--stats` field table; `id` required). */
  readonly scores?: string;
  /** Selection `{step, ids}` lines, or with `plan` the plan lines. */
  readonly out?: string;
  /** The selected pairs as TRL rows `{prompt, chosen, rejected, id, step}` (needs `pairs`). */
  readonly rows?: string;
  /** Write which pairs to score for the next refresh instead of selecting. */
  readonly plan?: boolean;
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
  /** The scoring round the next call needs (null: none due yet). */
  readonly next: ScoringPlan | null;
  /** With `plan`: the plan written (null: batches can be taken without scoring). */
  readonly plan: ScoringPlan | null;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new CliError("IO_FAILED", `cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

async function readState(path: string): Promise<SelectPairsState | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CliError("IO_FAILED", `cannot read state file ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as SelectPairsState;
  } catch (error) {
    throw new CliError("INPUT_INVALID", `${basename(path)}: not valid JSON: ${(error as Error).message}`);
  }
}

function usage(message: string): CliError {
  return new CliError("USAGE_INVALID", message);
}

/** The dataset, its text rows (with `--pairs`), and where its errors are reported. */
interface Loaded {
  readonly dataset: DatasetPair[];
  readonly rows: PairRow[] | null;
  readonly session: SelectionSession;
  readonly continued: boolean;
  readonly fileConfig: SelectConfig;
}

function asCli(where: string, error: unknown): never {
  if (error instanceof CurriculumError) {
    throw new CliError("INPUT_INVALID", `${where}: ${error.message}`, { cause: error });
  }
  throw error;
}

async function load(o: SelectCommandOptions): Promise<Loaded> {
  if ((o.stats === undefined) === (o.pairs === undefined)) {
    throw usage(
      "expected exactly one of --pairs <file> (TRL prompt/chosen/rejected JSONL) or --stats <file> (statistics of every pair)",
    );
  }
  if (o.rows !== undefined && o.pairs === undefined)
    throw usage("--rows writes TRL rows and needs their text: give --pairs <file>");
  const fileConfig: SelectConfig = o.config ? await loadConfigFile(o.config, selectConfigSchema) : {};
  const source = (o.pairs ?? o.stats)!;
  const text = await readText(source, o.pairs ? "pairs file" : "stats file");
  let dataset: DatasetPair[];
  let rows: PairRow[] | null = null;
  try {
    if (o.pairs) {
      const f = readPairsJsonl(text);
      dataset = f.pairs;
      rows = f.rows;
    } else {
      dataset = readStatsJsonl(text);
    }
  } catch (error) {
    asCli(basename(source), error);
  }
  if (dataset.length === 0) {
    throw new CliError(
      "INPUT_INVALID",
      `${basename(source)}: expected at least one ${o.pairs ? "pair" : "statistics line"}; received a file with only blank lines`,
    );
  }
  const state = o.state ? await readState(o.state) : undefined;
  const curriculum = { ...fileConfig.curriculum };
  if (o.batchSize !== undefined) curriculum.batchSize = o.batchSize;
  if (o.seed !== undefined) curriculum.seed = o.seed;
  const selector = (o.selector ?? fileConfig.selector) as SelectorName | undefined;
  let session: SelectionSession;
  try {
    session = SelectionSession.open(dataset, state ?? null, {
      ...(stripUndefined(curriculum) as CurriculumConfigInput),
      ...(selector !== undefined ? { selector } : {}),
    });
  } catch (error) {
    if (state && error instanceof CurriculumError && error.code === "STATE_INVALID") {
      // a config or selector that differs from the state's is a usage error; a state that does not
      // fit the pairs file is an input error
      const differs = /^(the config differs|selector name)/.test(error.message);
      throw new CliError(
        differs ? "USAGE_INVALID" : "INPUT_INVALID",
        differs
          ? `--state ${basename(o.state!)} already holds the selector config; ${error.message}`
          : `--state ${basename(o.state!)}: ${error.message}`,
        { cause: error },
      );
    }
    asCli(
      error instanceof CurriculumError && error.code === "DATA_INVALID" ? basename(source) : "selection",
      error,
    );
  }
  return { dataset, rows, session, continued: state !== undefined, fileConfig };
}

/**
 * Statistics for a pair: its `--scores` line merged over its dataset line, or its dataset line when
 * that carries policy log-probs (a `--stats` file); otherwise none (not scored).
 */
function lookupOf(dataset: readonly DatasetPair[], scores: ReadonlyMap<string, DatasetPair>): StatsLookup {
  return (i) => {
    const p = dataset[i]!;
    const s = scores.get(p.id);
    if (s !== undefined) return { ...p, ...s };
    return p.policyChosen !== undefined ? p : undefined;
  };
}

function scoresMap(pairs: readonly DatasetPair[]): Map<string, DatasetPair> {
  return new Map(pairs.map((p) => [p.id, p]));
}

/**
 * `sage select`: selection only, for pairs whose statistics another framework computes.
 * With `plan`, writes which pairs to score for the next refresh; otherwise answers the due refresh
 * from `--scores` (or a `--stats` file) and writes the batches up to the next refresh (or `--steps`),
 * as `{step, ids}` lines and, with `--rows`, as TRL rows. The state file is continued and rewritten.
 */
export async function selectCommand(o: SelectCommandOptions): Promise<SelectCommandResult> {
  if (o.out === undefined) throw usage("--out <file> is required (except with --serve)");
  const { dataset, rows, session, continued, fileConfig } = await load(o);
  const saveState = async () => {
    if (o.state) await atomicWriteJson(o.state, session.state());
  };
  if (o.plan) {
    if (o.scores !== undefined || o.rows !== undefined)
      throw usage("--plan only lists the pairs to score: drop --scores and --rows");
    let plan: ScoringPlan | null;
    try {
      plan = session.plan();
    } catch (error) {
      asCli("selection", error);
    }
    await atomicWriteFile(o.out, writePlanJsonl(plan, rows ?? undefined));
    await saveState();
    return {
      startStep: session.step,
      steps: 0,
      refreshes: 0,
      scoredPairs: 0,
      continued,
      next: plan,
      plan,
    };
  }
  let scores = new Map<string, DatasetPair>();
  if (o.scores !== undefined) {
    try {
      scores = scoresMap(readStatsJsonl(await readText(o.scores, "scores file")));
    } catch (error) {
      asCli(basename(o.scores), error);
    }
    const known = new Set(dataset.map((p) => p.id));
    const unknown = [...scores.keys()].filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw new CliError(
        "INPUT_INVALID",
        `${basename(o.scores)}: ids not in ${basename((o.pairs ?? o.stats)!)}: ${unknown
          .slice(0, 5)
          .map((id) => JSON.stringify(id))
          .join(", ")}${unknown.length > 5 ? ", …" : ""}`,
      );
    }
  }
  const explicitSteps = o.steps ?? fileConfig.steps;
  let result: ReturnType<SelectionSession["next"]>;
  try {
    result =
      explicitSteps !== undefined
        ? session.next(explicitSteps, lookupOf(dataset, scores))
        : session.next(session.config.refreshEvery, lookupOf(dataset, scores), 1);
  } catch (error) {
    asCli(
      error instanceof CurriculumError && error.code === "STATS_MISSING"
        ? basename((o.scores ?? o.stats ?? o.pairs)!)
        : "selection",
      error,
    );
  }
  if (result.batches.length === 0 && result.served.length === 0 && result.pending !== null) {
    const p = result.pending;
    throw new CliError(
      "INPUT_INVALID",
      `refresh ${p.refresh} at step ${p.step} needs statistics for ${p.ids.length} pairs (${p.kind}); ${
        o.scores ? `none of them are in ${basename(o.scores)}` : "no --scores given"
      }. Run \`sage select --plan\` with the same --state to list them, score them, and pass them with --scores`,
    );
  }
  await atomicWriteFile(o.out, writeSelectionJsonl(result));
  if (o.rows && rows) await atomicWriteFile(o.rows, writePairRowsJsonl(result, rows));
  await saveState();
  const events = session.events();
  if (o.events) await atomicWriteFile(o.events, events.map((e) => `${JSON.stringify(e)}\n`).join(""));
  return {
    startStep: result.startStep,
    steps: result.batches.length,
    refreshes: events.filter((e) => e.type === "refresh").length,
    scoredPairs: result.served.reduce((s, r) => s + r.pairIds.length, 0),
    continued,
    next: result.pending,
    plan: null,
  };
}

/** What `sage select --serve` reads and writes (tests pass their own). */
export interface ServeIo {
  readonly input: NodeJS.ReadableStream;
  readonly write: (line: string) => void;
}

/** Error codes of `--serve` replies: the curriculum's codes, `REQUEST_INVALID`, `IO_FAILED` (state file) and `INTERNAL_ERROR`. */
export type ServeErrorCode = CurriculumError["code"] | "REQUEST_INVALID" | "IO_FAILED" | "INTERNAL_ERROR";

/** A `--serve` request that fails; its code goes into the error reply. */
class RequestError extends SageError {
  declare readonly code: ServeErrorCode;
  constructor(code: ServeErrorCode, message: string) {
    super(code, message);
    this.name = "RequestError";
  }
}

/** A pair's text fields as TRL has them (prompt omitted for implicit-prompt pairs). */
function textOf(row: PairRow | undefined): Record<string, unknown> {
  if (row === undefined) return {};
  return {
    ...(row.prompt !== undefined ? { prompt: row.prompt } : {}),
    chosen: row.chosen,
    rejected: row.rejected,
  };
}

function planJson(plan: ScoringPlan | null, rowsById: ReadonlyMap<string, PairRow> | null): unknown {
  if (plan === null) return null;
  return {
    kind: plan.kind,
    refresh: plan.refresh,
    step: plan.step,
    error_margin: plan.errorMargin,
    perturbation: plan.perturbation,
    pairs: plan.ids.map((id, j) => ({ id, pair_key: plan.pairKeys[j], ...textOf(rowsById?.get(id)) })),
  };
}

/**
 * `sage select --serve`: one selection session kept in memory, driven by JSON lines on stdin; every
 * request line gets exactly one reply line on stdout (`{"ok": true, "op", …}` or
 * `{"ok": false, "op", "error": {"code", "message"}}`), and an error never ends the process.
 * Requests: `{"op": "plan"}`, `{"op": "scores", "scores": [{id, policy_chosen_logp, …}, …]}`,
 * `{"op": "next", "steps"?: n}`, `{"op": "state"}`. The state file (if given) is rewritten after
 * every `plan` and `next`. Ends at the end of stdin.
 */
export async function serveSelect(o: SelectCommandOptions, io: ServeIo): Promise<number> {
  if (
    o.out !== undefined ||
    o.rows !== undefined ||
    o.scores !== undefined ||
    o.plan ||
    o.events !== undefined
  ) {
    throw usage("--serve answers on stdout: drop --out, --rows, --scores, --plan and --events");
  }
  const { dataset, rows, session, fileConfig } = await load(o);
  const ids = new Set(dataset.map((p) => p.id));
  const rowsById = rows === null ? null : new Map(rows.map((r) => [r.id, r]));
  const explicitSteps = o.steps ?? fileConfig.steps;
  let scores = new Map<string, DatasetPair>();
  const saveState = async () => {
    if (o.state) await atomicWriteJson(o.state, session.state());
  };
  let handled = 0;
  const handle = async (req: Record<string, unknown>): Promise<Record<string, unknown>> => {
    switch (req.op) {
      case "plan": {
        const plan = session.plan();
        await saveState();
        return { step: session.step, plan: planJson(plan, rowsById) };
      }
      case "scores": {
        const list = req.scores;
        if (!Array.isArray(list))
          throw new RequestError(
            "REQUEST_INVALID",
            `"scores": expected an array of objects, received ${typeof list}`,
          );
        let parsed: DatasetPair[];
        try {
          parsed = readStatsJsonl(list.map((x) => JSON.stringify(x ?? null)).join("\n"));
        } catch (error) {
          if (error instanceof CurriculumError)
            throw new RequestError(
              error.code,
              error.message.replace(/^line (\d+)/, (_, n) => `scores[${Number(n) - 1}]`),
            );
          throw error;
        }
        const unknown = parsed.filter((p) => !ids.has(p.id)).map((p) => JSON.stringify(p.id));
        if (unknown.length > 0)
          throw new RequestError(
            "REQUEST_INVALID",
            `"scores": ids not in the pairs file: ${unknown.slice(0, 5).join(", ")}`,
          );
        for (const p of parsed) scores.set(p.id, p);
        const pending = session.plan();
        const missing = pending === null ? 0 : pending.ids.filter((id) => !scores.has(id)).length;
        return { received: parsed.length, missing };
      }
      case "next": {
        const steps = req.steps;
        if (steps !== undefined && !(Number.isInteger(steps) && (steps as number) >= 1))
          throw new RequestError(
            "REQUEST_INVALID",
            `"steps": expected an integer ≥ 1, received ${JSON.stringify(steps)}`,
          );
        // as the one-shot command: a step count (here or in the config) may cross refreshes
        const wanted = (steps as number | undefined) ?? explicitSteps;
        const r =
          wanted !== undefined
            ? session.next(wanted, lookupOf(dataset, scores))
            : session.next(session.config.refreshEvery, lookupOf(dataset, scores), 1);
        if (r.served.length > 0) scores = new Map(); // the policy moves on: these statistics are stale
        session.events();
        await saveState();
        return {
          start_step: r.startStep,
          batches: r.batches,
          ...(rowsById
            ? {
                rows: r.batches.flatMap((b, j) =>
                  b.map((id) => ({ ...textOf(rowsById.get(id)), id, step: r.startStep + j })),
                ),
              }
            : {}),
          pending: planJson(r.pending, rowsById),
        };
      }
      case "state":
        return { state: session.state() };
      default:
        throw new RequestError(
          "REQUEST_INVALID",
          `"op": expected "plan", "scores", "next" or "state", received ${JSON.stringify(req.op)}`,
        );
    }
  };
  const lines = createInterface({ input: io.input, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (line.trim() === "") continue;
    let op: unknown = null;
    try {
      let req: unknown;
      try {
        req = JSON.parse(line);
      } catch (error) {
        throw new RequestError(
          "REQUEST_INVALID",
          `expected one JSON object per line: ${(error as Error).message}`,
        );
      }
      if (typeof req !== "object" || req === null || Array.isArray(req))
        throw new RequestError("REQUEST_INVALID", `expected a JSON object, received ${JSON.stringify(req)}`);
      op = (req as Record<string, unknown>).op ?? null;
      const reply = await handle(req as Record<string, unknown>);
      io.write(`${JSON.stringify({ ok: true, op, ...reply })}\n`);
    } catch (error) {
      const code: ServeErrorCode =
        error instanceof RequestError || error instanceof CurriculumError
          ? error.code
          : error instanceof CliError && error.code === "IO_FAILED"
            ? "IO_FAILED"
            : "INTERNAL_ERROR";
      io.write(`${JSON.stringify({ ok: false, op, error: { code, message: (error as Error).message } })}\n`);
    }
    handled++;
  }
  return handled;
}
