import { basename } from "node:path";
import {
  type GradeOptions,
  gradeResponse,
  type RunSummary,
  type SampleRecord,
  summarize,
  toJsonl,
} from "@sage/eval-math";
import { atomicWriteFile, atomicWriteJson, readJsonlLines, TrainerError } from "@sage/trainer";
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
  readonly out?: string;
  readonly config?: string;
}

/**
 * The validated lines of the responses file (`readJsonlLines` of `@sage/trainer`): a bad line is an
 * input error naming file, line and field; a file that cannot be read is an IO error.
 */
async function* responseLines(path: string) {
  try {
    yield* readJsonlLines(path, responseLineSchema);
  } catch (error) {
    if (error instanceof TrainerError) throw new CliError("INPUT_INVALID", error.message, { cause: error });
    throw new CliError("IO", `cannot read responses file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * `sage eval`: grade an existing JSONL of model responses with `@sage/eval-math` (answer
 * extraction + equivalence), write the graded records and a summary (pass@1, pass@k, maj@k,
 * by level/subject/benchmark).
 */
export async function evalCommand(
  o: EvalCommandOptions,
): Promise<{ summary: RunSummary; records: SampleRecord[] }> {
  const config: EvalConfig = o.config ? await loadConfigFile(o.config, evalConfigSchema) : {};
  const grade: GradeOptions = stripUndefined(config.grade ?? {});
  const name = basename(o.responses);
  const records: SampleRecord[] = [];
  const samples = new Map<string, number>();
  const t0 = performance.now();
  for await (const { value: line } of responseLines(o.responses)) {
    const id = String(line.id);
    const reference = line.reference ?? String(line.answer);
    const benchmark = line.benchmark ?? "responses";
    const key = `${benchmark}\u0000${id}`;
    const sample = line.sample ?? samples.get(key) ?? 0;
    samples.set(key, sample + 1);
    const g = gradeResponse(line.response, reference, grade);
    records.push({
      id,
      benchmark,
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
    });
  }
  if (records.length === 0) throw new CliError("INPUT_INVALID", `${name}: no responses to grade`);
  const summary = summarize(records, performance.now() - t0);
  if (o.out) {
    await atomicWriteFile(o.out, toJsonl(records));
    await atomicWriteJson(`${o.out}.summary.json`, summary);
  }
  return { summary, records };
}
