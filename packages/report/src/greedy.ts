import { type PairedDifference, pairedDifference } from "./endpoints.js";
import { ReportError } from "./errors.js";
import { mean } from "./stats.js";
import { atomicWrite } from "./write.js";

/*
 * The summary of a greedy check (`@sage/trainer`'s `greedyCheck`): greedy pass@1 of each method's
 * final checkpoints, per arm, beside the start policy's, and the paired difference to the baseline
 * on the same seeds. Descriptive (a post-hoc look, not a pre-registered endpoint): no Holm.
 */

/** One scored run, as `greedyCheck` returns it (only the fields read here). */
export interface GreedyRunInput {
  readonly arm: string;
  readonly method: string;
  readonly seed: number;
  readonly passAt1: number;
  readonly byLevel: Readonly<Record<string, number>>;
}

export interface GreedyMethodSummary {
  readonly arm: string;
  readonly method: string;
  /** Seeds scored, ascending. */
  readonly seeds: readonly number[];
  /** Mean greedy pass@1 of the final checkpoints. */
  readonly mean: number;
  /** Mean per level (the hardest is the highest). */
  readonly byLevel: Readonly<Record<string, number>>;
  /** `mean − start`: the start policy's greedy pass@1 on the arm's held-out split. */
  readonly change: number;
  /** Paired over the seeds both have (method − baseline); null for the baseline or with no shared seed. */
  readonly vsBaseline: PairedDifference | null;
}

/**
 * Per arm and method (in first-seen order): mean greedy pass@1, per level, change from the start
 * policy (`startOf(arm)`) and the paired difference to `baseline` over the seeds both have.
 */
export function greedySummary(
  runs: readonly GreedyRunInput[],
  startOf: (arm: string) => number,
  baseline = "uniform",
): GreedyMethodSummary[] {
  const groups = new Map<string, GreedyRunInput[]>();
  for (const r of runs) {
    if (!(r.passAt1 >= 0 && r.passAt1 <= 1)) {
      throw ReportError.mismatch("INPUT_INVALID", "greedy pass@1", "a number in [0, 1]", r.passAt1);
    }
    const key = `${r.arm}\u0000${r.method}`;
    const list = groups.get(key) ?? [];
    if (list.some((x) => x.seed === r.seed)) {
      throw ReportError.mismatch(
        "INPUT_INVALID",
        `greedy runs of ${r.arm}/${r.method}`,
        "one run per seed",
        `seed ${r.seed} twice`,
      );
    }
    list.push(r);
    groups.set(key, list);
  }
  const out: GreedyMethodSummary[] = [];
  for (const list of groups.values()) {
    const { arm, method } = list[0]!;
    const sorted = [...list].sort((a, b) => a.seed - b.seed);
    const levels = [...new Set(sorted.flatMap((r) => Object.keys(r.byLevel)))].sort(
      (a, b) => Number(a) - Number(b),
    );
    const byLevel: Record<string, number> = {};
    for (const l of levels) {
      const xs = sorted.flatMap((r) => (r.byLevel[l] === undefined ? [] : [r.byLevel[l]!]));
      byLevel[l] = mean(xs);
    }
    const m = mean(sorted.map((r) => r.passAt1));
    let vsBaseline: PairedDifference | null = null;
    const base = groups.get(`${arm}\u0000${baseline}`);
    if (method !== baseline && base) {
      const shared = sorted.filter((r) => base.some((b) => b.seed === r.seed));
      if (shared.length > 0) {
        vsBaseline = pairedDifference(
          shared.map((r) => r.passAt1),
          shared.map((r) => base.find((b) => b.seed === r.seed)!.passAt1),
        );
      }
    }
    out.push({
      arm,
      method,
      seeds: sorted.map((r) => r.seed),
      mean: m,
      byLevel,
      change: m - startOf(arm),
      vsBaseline,
    });
  }
  return out;
}

/** A greedy check as `@sage/trainer`'s `greedyCheck` returns it (structural: report does not import the trainer). */
export interface GreedyCheckRecord {
  readonly problems: Readonly<Record<string, number>>;
  readonly start: {
    readonly tuning: { readonly passAt1: number; readonly byLevel: Readonly<Record<string, number>> };
    readonly reported: { readonly passAt1: number; readonly byLevel: Readonly<Record<string, number>> };
  };
  readonly runs: readonly (GreedyRunInput & { readonly step: number })[];
  readonly skipped: readonly {
    readonly arm: string;
    readonly method: string;
    readonly seed: number;
    readonly reason: string;
  }[];
}

export interface WriteGreedyCheckOptions {
  /** The JSON file (`convergence-greedy-<task>-<adapter>.json`). */
  readonly file: string;
  readonly task: string;
  readonly adapter: string;
  readonly machine: string;
  /** One line per arm and method (default: none). */
  readonly log?: (line: string) => void;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const pts = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(100 * x).toFixed(1)}`;

/**
 * Write a greedy check as JSON (`suite: "convergence-greedy"`: the start policy per split, the
 * `greedySummary` per arm and method against `uniform`, every run, the skipped runs with reasons)
 * atomically; returns the summary. A check with no scored run is a `ReportError`.
 */
export async function writeGreedyCheck(
  check: GreedyCheckRecord,
  o: WriteGreedyCheckOptions,
): Promise<GreedyMethodSummary[]> {
  if (check.runs.length === 0) {
    throw new ReportError(
      "INPUT_INVALID",
      "writeGreedyCheck: expected at least one scored run; received none (no finished run with a final checkpoint)",
    );
  }
  const summary = greedySummary(check.runs, (arm) =>
    arm === "tuning" ? check.start.tuning.passAt1 : check.start.reported.passAt1,
  );
  const log = o.log ?? (() => {});
  for (const s of summary) {
    const d = s.vsBaseline;
    const ci = d && d.lo !== null && d.hi !== null ? ` [${pts(d.lo)}, ${pts(d.hi)}]` : "";
    log(
      `${s.arm.padEnd(8)} ${s.method.padEnd(18)} n=${s.seeds.length}  greedy ${pct(s.mean)} (${pts(s.change)} from start)${d ? `  vs uniform ${pts(d.diff)}${ci}` : ""}`,
    );
  }
  await atomicWrite(
    o.file,
    `${JSON.stringify(
      {
        suite: "convergence-greedy",
        date: new Date().toISOString(),
        task: o.task,
        adapter: o.adapter,
        machine: o.machine,
        decoding:
          "greedy (temperature 0, one answer per held-out problem), final checkpoints of finished runs",
        problems: check.problems,
        start: check.start,
        summary,
        runs: check.runs,
        skipped: check.skipped,
      },
      null,
      2,
    )}\n`,
  );
  return summary;
}
