import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

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

/** Write JSON atomically: a temporary file in the same folder, then rename over the target. */
export function writeJsonAtomic(file: string, data: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(tmp, file);
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
