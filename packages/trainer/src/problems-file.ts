/** Node-only: read problems from a JSONL file (the browser entry takes `Problem` objects directly). */
import { basename } from "node:path";
import { z } from "zod";
import { describeValue, TrainerError } from "./errors.js";
import { readJsonlLines } from "./jsonl.js";
import type { Problem } from "./pairs.js";

const problemSchema = z.object({
  id: z.union([z.string().min(1), z.number().int()]),
  prompt: z.string().min(1).optional(),
  question: z.string().min(1).optional(),
  problem: z.string().min(1).optional(),
  answer: z.union([z.string(), z.number()]),
  level: z.number().int().optional(),
});

/**
 * Read problems from JSONL: `id`, `prompt` (or `question` / `problem`), `answer`, optional
 * `level`. Errors name file, line and field.
 */
export async function readProblems(path: string): Promise<Problem[]> {
  const file = basename(path);
  const out: Problem[] = [];
  const seen = new Set<string>();
  for await (const { line: n, value: p } of readJsonlLines(path, problemSchema)) {
    const prompt = p.prompt ?? p.question ?? p.problem;
    if (prompt === undefined) {
      throw new TrainerError(
        "DATA_INVALID",
        `${file}:${n}: field "prompt": required (or "question" / "problem"); received undefined`,
      );
    }
    const id = String(p.id);
    if (seen.has(id)) {
      throw new TrainerError(
        "DATA_ID_DUPLICATE",
        `${file}:${n}: field "id": expected ids to be unique; received ${describeValue(id)} again`,
      );
    }
    seen.add(id);
    out.push({ id, prompt, answer: String(p.answer), ...(p.level !== undefined ? { level: p.level } : {}) });
  }
  return out;
}
