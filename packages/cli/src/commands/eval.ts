import { type FileHandle, mkdir, open, readFile, truncate } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { JsonlError, parseJsonl } from "@sage/core";
import {
  type GradeOptions,
  gradeResponse,
  type RunSummary,
  type SampleRecord,
  summarize,
} from "@sage/eval-math";
import { atomicWriteJson, readJsonlLines, TrainerError } from "@sage/trainer";
import { z } from "zod";
import { loadConfigFile } from "../config.js";
import { CliError } from "../errors.js";
import { type EvalConfig, evalConfigSchema } from "../schemas.js";
import { stripUndefined } from "../strip.js";

/** One line of the responses JSONL `sage eval` grades. `reference` may also be spelled `answer`. */
export const responseLineSchema = z
  .object({
    id: z.union([z.string().min(1), z.number().int()]),
    response: z.string(),
    reference: z.string().optional(),
    answer: z.union([z.string(), z.number()]).optional(),
    benchmark: z.string().optional(),
    sample: z.number().int().min(0).optional(),
    prompt: z.string().optional(),
    subject: z.string().optional(),
    level: z.number().int().optional(),
  })
  .refine((o) => o.reference !== undefined || o.answer !== undefined, {
    message: 'expected "reference" (or "answer"), the correct answer',
    path: ["reference"],
  });

export interface EvalCommandOptions {
  readonly responses: string;
  /** Graded records go here as JSONL, one line per graded response as it is graded. */
  readonly out?: string;
  readonly config?: string;
  /** Continue from the records already in `out` (a crashed or interrupted run), grading only the rest. */
  readonly resume?: boolean;
  /** Called after each record is graded and written (`index` 0-based in the responses file). */
  readonly onRecord?: (record: SampleRecord, index: number) => void;
}

/** What `evalCommand` returns: the summary, every record, and how many came from `--resume`. */
export interface EvalCommandResult {
  readonly summary: RunSummary;
  readonly records: SampleRecord[];
  readonly resumed: number;
}

/**
 * The validated lines of the responses file (`readJsonlLines` of `@sage/trainer`): a bad line or
 * a path that cannot be read is an input error naming file, line and field.
 */
async function* responseLines(path: string) {
  try {
    yield* readJsonlLines(path, responseLineSchema);
  } catch (error) {
    if (error instanceof TrainerError) throw new CliError("INPUT_INVALID", error.message, { cause: error });
    throw new CliError("IO_FAILED", `cannot read responses file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

const recordSchema = z.looseObject({
  id: z.string(),
  benchmark: z.string(),
  sample: z.number().int().min(0),
  response: z.string(),
  reference: z.string(),
  correct: z.boolean(),
});

/**
 * The complete records of an earlier run's `out` file, for `--resume`. A last line without its
 * newline (the run died while writing it) is cut off the file; any other bad line is an input
 * error naming the line. A missing file resumes from nothing.
 */
async function finishedRecords(out: string): Promise<SampleRecord[]> {
  const name = basename(out);
  let bytes: Buffer;
  try {
    bytes = await readFile(out);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new CliError("IO_FAILED", `cannot read ${out} to resume: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const complete = bytes.lastIndexOf(0x0a) + 1;
  if (complete < bytes.length) await truncate(out, complete);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, complete));
  } catch {
    throw new CliError(
      "INPUT_INVALID",
      `${name}: expected the UTF-8 JSONL an earlier \`sage eval\` wrote; received bytes that are not UTF-8 (drop --resume to start over)`,
    );
  }
  const lines = text.split("\n");
  const bad = (line: number): CliError =>
    new CliError(
      "INPUT_INVALID",
      `${name}:${line}: expected a graded record of an earlier \`sage eval\` (id, benchmark, sample, response, reference, correct); received ${JSON.stringify((lines[line - 1] ?? "").slice(0, 80))} (drop --resume to start over)`,
    );
  try {
    return parseJsonl(text, {
      source: name,
      map: (raw, line) => {
        const parsed = recordSchema.safeParse(raw);
        if (!parsed.success) throw bad(line);
        return parsed.data as unknown as SampleRecord;
      },
    });
  } catch (error) {
    if (error instanceof JsonlError) throw bad(error.line);
    throw error;
  }
}

/** The graded record of one responses line. */
function gradeLine(
  line: z.output<typeof responseLineSchema>,
  sample: number,
  grade: GradeOptions,
): SampleRecord {
  const reference = line.reference ?? String(line.answer);
  const g = gradeResponse(line.response, reference, grade);
  return {
    id: String(line.id),
    benchmark: line.benchmark ?? "responses",
    sample,
    prompt: line.prompt ?? "",
    response: line.response,
    reference,
    extracted: g.extracted,
    method: g.method,
    verdict: g.verdict,
    correct: g.correct,
    reason: g.reason,
    ...(line.subject !== undefined ? { subject: line.subject } : {}),
    ...(line.level !== undefined ? { level: line.level } : {}),
  };
}

/**
 * `sage eval`: grade an existing JSONL of model responses with `@sage/eval-math` (answer
 * extraction + equivalence), write the graded records and a summary (pass@1, pass@k, maj@k,
 * by level/subject/benchmark).
 *
 * With `out`, each record is appended to `out` as soon as it is graded (one JSONL line, one
 * write), so a crash loses at most the line being written; `resume` keeps the records already
 * there (they must be the first responses of the same file, in order) and grades the rest. The
 * final file is the same as an uninterrupted run's. The summary is written atomically at the end.
 */
export async function evalCommand(o: EvalCommandOptions): Promise<EvalCommandResult> {
  if (o.resume && !o.out)
    throw new CliError("USAGE_INVALID", "--resume needs --out <file>: the records to continue from");
  const config: EvalConfig = o.config ? await loadConfigFile(o.config, evalConfigSchema) : {};
  const grade: GradeOptions = stripUndefined(config.grade ?? {});
  const name = basename(o.responses);
  const done = o.resume && o.out ? await finishedRecords(o.out) : [];
  const records: SampleRecord[] = [];
  const samples = new Map<string, number>();
  const t0 = performance.now();
  let handle: FileHandle | undefined;
  try {
    if (o.out) {
      await mkdir(dirname(o.out), { recursive: true });
      handle = await open(o.out, o.resume ? "a" : "w");
    }
    let index = 0;
    for await (const { line: n, value: line } of responseLines(o.responses)) {
      const id = String(line.id);
      const benchmark = line.benchmark ?? "responses";
      const key = `${benchmark}\u0000${id}`;
      const sample = line.sample ?? samples.get(key) ?? 0;
      samples.set(key, sample + 1);
      const earlier = done[index];
      if (earlier !== undefined) {
        if (
          earlier.id !== id ||
          earlier.benchmark !== benchmark ||
          earlier.sample !== sample ||
          earlier.response !== line.response
        ) {
          throw new CliError(
            "INPUT_INVALID",
            `--resume: ${basename(o.out!)}:${index + 1} holds ${JSON.stringify(earlier.id)} sample ${earlier.sample}, but ${name}:${n} is ${JSON.stringify(id)} sample ${sample}${earlier.response !== line.response && earlier.id === id ? " with another response" : ""}; expected the records of this responses file, in order (drop --resume to start over)`,
          );
        }
        records.push(earlier);
      } else {
        const record = gradeLine(line, sample, grade);
        await handle?.write(`${JSON.stringify(record)}\n`);
        records.push(record);
        o.onRecord?.(record, index);
      }
      index++;
    }
    if (done.length > index) {
      throw new CliError(
        "INPUT_INVALID",
        `--resume: ${basename(o.out!)} holds ${done.length} records but ${name} has ${index} responses; expected the records of this responses file (drop --resume to start over)`,
      );
    }
    await handle?.sync();
  } finally {
    await handle?.close();
  }
  if (records.length === 0)
    throw new CliError("INPUT_INVALID", `${name}: no responses to grade (the file is empty)`);
  const summary = summarize(records, performance.now() - t0);
  if (o.out) await atomicWriteJson(`${o.out}.summary.json`, summary);
  return { summary, records, resumed: done.length };
}
