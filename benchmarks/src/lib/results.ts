import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomicSync } from "@sage/core/node";
import type { AdapterReport } from "@sage/kernels-webgpu";

/** The benchmarks package folder (holds `results/`). */
export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Committed results of full runs. */
export const RESULTS_DIR = path.join(BENCH_DIR, "results");
/** Scratch results (quick runs); git-ignored. */
export const OUT_DIR = path.join(BENCH_DIR, "out");

/** Resolve a user-given path against the directory `npm run` was started from. */
export function userPath(p: string): string {
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), p);
}

/** Write JSON atomically and durably (`@sage/core/node`'s `writeFileAtomicSync`). */
export function writeJsonAtomic(file: string, data: unknown): void {
  writeFileAtomicSync(file, `${JSON.stringify(data, null, 2)}\n`);
}

/** `mesa / software / llvmpipe: Mesa 25…` → `mesa-software-llvmpipe`. */
export function slug(...parts: readonly string[]): string {
  const words: string[] = [];
  for (const p of parts) {
    for (const w of p.toLowerCase().split(/[^a-z0-9]+/)) {
      if (w && !words.includes(w)) words.push(w);
    }
  }
  return words.join("-").slice(0, 48).replace(/-+$/, "") || "unknown";
}

export interface Environment {
  node: string;
  platform: string;
  arch: string;
  cpu: string;
  cpus: number;
  memoryGiB: number;
  /** 1-, 5- and 15-minute load averages when the run started (other work on the machine skews timings). */
  loadAverage: number[];
}

export function environment(): Environment {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    arch: process.arch,
    cpu: cpus[0]?.model ?? "unknown",
    cpus: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** `file` relative to the directory `npm run` was started from, or as given when it lies outside it. */
export function displayPath(file: string): string {
  const rel = path.relative(process.env.INIT_CWD ?? process.cwd(), file);
  return rel.startsWith("..") ? file : rel;
}

/**
 * Where a suite writes its JSON: `out` (a user path) if given; otherwise `<suite>-<adapter>.json`
 * in `results/` (committed), or `<suite>-<adapter>-quick.json` in `out/` (git-ignored) for quick
 * runs, so that the README's main command leaves the working tree clean.
 */
export function resultsFile(
  suite: string,
  quick: boolean,
  out: string | undefined,
  report: AdapterReport | undefined,
): string {
  if (out) return userPath(out);
  const adapterSlug = report
    ? slug(report.vendor, report.architecture, report.description.split(/[:(]/)[0] ?? "")
    : "unknown";
  return path.join(quick ? OUT_DIR : RESULTS_DIR, `${suite}-${adapterSlug}${quick ? "-quick" : ""}.json`);
}

/** A warning when the 1-minute load average at start exceeds the CPU count; `why` ends the sentence. */
export function loadWarnings(env: Environment, why: string): string[] {
  const load1 = env.loadAverage[0] ?? 0;
  return load1 > env.cpus
    ? [`load average ${load1} on ${env.cpus} CPUs at start: other processes compete for the CPU${why}`]
    : [];
}

/** The fields every suite's JSON starts with. */
export function resultsHeader(
  suite: string,
  started: Date,
  quick: boolean,
  adapterLine: string,
  report: AdapterReport | undefined,
  env: Environment,
) {
  return {
    suite,
    schema: 1,
    date: started.toISOString(),
    durationS: Math.round((Date.now() - started.getTime()) / 100) / 10,
    quick,
    adapter: { summary: adapterLine, ...report },
    environment: { ...env, loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100) },
  };
}

/** Counts of targets passed, missed and not evaluated (`pass` true, false, null). */
export function targetSummary(targets: readonly { pass: boolean | null }[]) {
  return {
    targetsPassed: targets.filter((t) => t.pass === true).length,
    targetsMissed: targets.filter((t) => t.pass === false).length,
    targetsNotEvaluated: targets.filter((t) => t.pass === null).length,
  };
}
