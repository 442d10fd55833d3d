/**
 * Benchmark runner: prompts → `generate` → extraction + grading → per-sample JSONL + summary
 * (pass@1, unbiased pass@k, maj@k, by subject and level).
 */
import { writeFileAtomicSync } from "@sage/core/node";
import { SingleBar } from "cli-progress";
import { buildPrompt, type Problem } from "./benchmarks.js";
import { type EquivalenceOptions, isEquivalent, type Verdict } from "./equivalence.js";
import { EvalMathError, truncate } from "./errors.js";
import type { ExtractionMethod } from "./extract.js";
import { type GradeOptions, gradeResponse } from "./grade.js";
import { normalizeAnswer } from "./normalize.js";

/** Options passed to a {@link Generate} function. */
export interface GenerateOptions {
  /** Completions wanted per prompt. */
  n: number;
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  seed?: number;
  stop?: string[];
}

/**
 * The generation interface other packages implement: for each prompt, `options.n` completions.
 * Must resolve to an array with one entry per prompt, each holding exactly `n` strings.
 */
export type Generate = (prompts: string[], options: GenerateOptions) => Promise<string[][]>;

/** One graded sample, as written to the JSONL file. */
export interface SampleRecord {
  id: string;
  benchmark: string;
  sample: number;
  prompt: string;
  response: string;
  reference: string;
  extracted: string | null;
  method: ExtractionMethod | null;
  verdict: Verdict;
  correct: boolean;
  reason: string;
  subject?: string;
  level?: number;
}

export interface GroupStats {
  problems: number;
  samples: number;
  /** Mean fraction of correct samples. */
  pass1: number;
  /** Unbiased pass@k (Chen et al. 2021) for each reported k. */
  passAtK: Record<string, number>;
  /** Fraction of problems whose majority answer (over all samples) is correct. */
  majAtK: number;
}

export interface RunSummary extends GroupStats {
  /** Samples per problem. */
  k: number;
  bySubject: Record<string, GroupStats>;
  byLevel: Record<string, GroupStats>;
  byBenchmark: Record<string, GroupStats>;
  elapsedMs: number;
}

export interface RunBenchmarkOptions {
  problems: Problem[];
  generate: Generate;
  /** Samples per problem. Default 1. */
  k?: number;
  /** Prompts per `generate` call. Default 8. */
  batchSize?: number;
  /** `generate` calls in flight at once. Default 1. */
  concurrency?: number;
  /** Extra options for `generate` (`n` is set to `k`). */
  generateOptions?: Omit<GenerateOptions, "n">;
  /** Prompt template containing `{question}`. Default: question + the `\boxed{}` CoT instruction. */
  promptTemplate?: string;
  /** Extraction and equivalence options. */
  grade?: GradeOptions;
  /** Per-sample JSONL output, written atomically (temp file + rename). The summary goes to `<outFile>.summary.json`. */
  outFile?: string;
  /** Called after each batch. */
  onProgress?: (done: number, total: number) => void;
  /** Show a cli-progress bar on stderr. Default false. */
  progressBar?: boolean;
}

export interface RunResult {
  records: SampleRecord[];
  summary: RunSummary;
}

/** Unbiased pass@k estimator 1 - C(n-c, k) / C(n, k), computed as a stable product. */
export function passAtK(n: number, c: number, k: number): number {
  if (
    !(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k)) ||
    n < 1 ||
    c < 0 ||
    c > n ||
    k < 1 ||
    k > n
  ) {
    throw new EvalMathError(
      "ARGUMENT_INVALID",
      `passAtK needs integers 0 <= c <= n, 1 <= k <= n; received n=${n}, c=${c}, k=${k}`,
    );
  }
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

/** The k values reported: 1, 2, 4, … up to n, and n itself. */
export function reportedKs(n: number): number[] {
  const ks: number[] = [];
  for (let k = 1; k <= n; k *= 2) ks.push(k);
  if (ks[ks.length - 1] !== n) ks.push(n);
  return ks;
}

/**
 * Majority vote over extracted answers: answers are clustered by equivalence (first-seen order),
 * the largest cluster wins, ties go to the cluster seen first. Returns the winning cluster's
 * correctness (false when no sample has an answer).
 */
export function majorityCorrect(
  samples: Array<Pick<SampleRecord, "extracted" | "correct">>,
  opts: EquivalenceOptions = {},
): boolean {
  const clusters: Array<{ rep: string; key: string; count: number; correct: boolean }> = [];
  for (const s of samples) {
    if (s.extracted === null) continue;
    const key = normalizeAnswer(s.extracted).text;
    let c = clusters.find((x) => x.key === key);
    if (c === undefined) {
      c = clusters.find((x) => isEquivalent(s.extracted!, x.rep, opts).verdict === "equal");
    }
    if (c === undefined) clusters.push({ rep: s.extracted, key, count: 1, correct: s.correct });
    else c.count++;
  }
  let best: (typeof clusters)[number] | undefined;
  for (const c of clusters) if (best === undefined || c.count > best.count) best = c;
  return best?.correct ?? false;
}

function groupStats(byProblem: SampleRecord[][], opts: EquivalenceOptions): GroupStats {
  const problems = byProblem.length;
  if (problems === 0) return { problems: 0, samples: 0, pass1: 0, passAtK: {}, majAtK: 0 };
  const n = Math.min(...byProblem.map((s) => s.length));
  const ks = reportedKs(n);
  const passK: Record<string, number> = {};
  for (const k of ks) {
    let s = 0;
    for (const samples of byProblem) s += passAtK(samples.length, samples.filter((x) => x.correct).length, k);
    passK[String(k)] = s / problems;
  }
  let pass1 = 0;
  let maj = 0;
  let samples = 0;
  for (const ss of byProblem) {
    pass1 += ss.filter((x) => x.correct).length / ss.length;
    samples += ss.length;
    if (majorityCorrect(ss, opts)) maj++;
  }
  return { problems, samples, pass1: pass1 / problems, passAtK: passK, majAtK: maj / problems };
}

/** Summary statistics of graded samples (grouped by problem id), overall and by subject/level/benchmark. */
export function summarize(records: SampleRecord[], elapsedMs = 0, opts: EquivalenceOptions = {}): RunSummary {
  const byId = new Map<string, SampleRecord[]>();
  for (const r of records) {
    const key = `${r.benchmark}\u0000${r.id}`;
    const list = byId.get(key);
    if (list) list.push(r);
    else byId.set(key, [r]);
  }
  const groups = [...byId.values()];
  const by = (f: (r: SampleRecord) => string | undefined): Record<string, GroupStats> => {
    const m = new Map<string, SampleRecord[][]>();
    for (const g of groups) {
      const key = f(g[0]!);
      if (key === undefined) continue;
      const l = m.get(key);
      if (l) l.push(g);
      else m.set(key, [g]);
    }
    return Object.fromEntries(
      [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, groupStats(v, opts)]),
    );
  };
  const overall = groupStats(groups, opts);
  return {
    ...overall,
    k: groups.length > 0 ? Math.min(...groups.map((g) => g.length)) : 0,
    bySubject: by((r) => r.subject),
    byLevel: by((r) => (r.level === undefined ? undefined : String(r.level))),
    byBenchmark: by((r) => r.benchmark),
    elapsedMs,
  };
}

/** Write a file atomically and durably (`@sage/core/node`'s `writeFileAtomicSync`). */
export function writeFileAtomic(file: string, content: string): void {
  writeFileAtomicSync(file, content);
}

/** Records as JSONL text. */
export function toJsonl(records: readonly object[]): string {
  return records.map((r) => JSON.stringify(r)).join("\n") + (records.length > 0 ? "\n" : "");
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1)
    throw new EvalMathError(
      "ARGUMENT_INVALID",
      `${name} must be a positive integer, received ${truncate(v)}`,
    );
  return v;
}

/** Run a benchmark with any {@link Generate} function. */
export async function runBenchmark(opts: RunBenchmarkOptions): Promise<RunResult> {
  const k = positiveInt("k", opts.k ?? 1);
  const batchSize = positiveInt("batchSize", opts.batchSize ?? 8);
  const concurrency = positiveInt("concurrency", opts.concurrency ?? 1);
  if (!Array.isArray(opts.problems))
    throw new EvalMathError(
      "ARGUMENT_INVALID",
      `problems must be an array, received ${truncate(opts.problems)}`,
    );
  const start = Date.now();
  const problems = opts.problems;
  const prompts = problems.map((p) => buildPrompt(p, opts.promptTemplate));
  const batches: number[][] = [];
  for (let i = 0; i < problems.length; i += batchSize) {
    batches.push(Array.from({ length: Math.min(batchSize, problems.length - i) }, (_, j) => i + j));
  }
  const results: SampleRecord[][] = new Array(problems.length);
  let done = 0;
  const bar = opts.progressBar
    ? new SingleBar({
        format: "eval [{bar}] {value}/{total} problems | {eta_formatted} left",
        stream: process.stderr,
      })
    : null;
  bar?.start(problems.length, 0);
  let next = 0;
  let failed = false;
  const worker = async () => {
    for (;;) {
      const bi = next++;
      if (bi >= batches.length || failed) return;
      const idx = batches[bi]!;
      const ps = idx.map((i) => prompts[i]!);
      let out: string[][];
      try {
        out = await opts.generate(ps, { ...(opts.generateOptions ?? {}), n: k });
      } catch (e) {
        failed = true;
        throw new EvalMathError(
          "GENERATOR_FAILED",
          `generate failed on batch ${bi + 1}/${batches.length}: ${(e as Error).message}`,
          { cause: e },
        );
      }
      if (
        !Array.isArray(out) ||
        out.length !== ps.length ||
        out.some((o) => !Array.isArray(o) || o.length !== k || o.some((s) => typeof s !== "string"))
      ) {
        failed = true;
        throw new EvalMathError(
          "GENERATOR_FAILED",
          `generate must return ${ps.length} arrays of ${k} strings (one per prompt), received ${truncate(out)}`,
        );
      }
      idx.forEach((pi, j) => {
        const p = problems[pi]!;
        results[pi] = out[j]!.map((response, s) => {
          const g = gradeResponse(response, p.answer, opts.grade ?? {});
          const rec: SampleRecord = {
            id: p.id,
            benchmark: p.benchmark,
            sample: s,
            prompt: prompts[pi]!,
            response,
            reference: p.answer,
            extracted: g.extracted,
            method: g.method,
            verdict: g.verdict,
            correct: g.correct,
            reason: g.reason,
          };
          if (p.subject !== undefined) rec.subject = p.subject;
          if (p.level !== undefined) rec.level = p.level;
          return rec;
        });
      });
      done += idx.length;
      bar?.update(done);
      opts.onProgress?.(done, problems.length);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
  } finally {
    bar?.stop();
  }
  const records = results.flat();
  const summary = summarize(records, Date.now() - start, opts.grade ?? {});
  if (opts.outFile !== undefined) {
    writeFileAtomic(opts.outFile, toJsonl(records));
    writeFileAtomic(`${opts.outFile}.summary.json`, `${JSON.stringify(summary, null, 2)}\n`);
  }
  return { records, summary };
}
