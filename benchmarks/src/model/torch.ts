/**
 * The PyTorch CPU peer: `peers/torch_model.py` run by Debian's `/usr/bin/python3` (python3-torch)
 * as a child process, with `OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE` removed from its
 * environment only. It prints one JSON object on its last stdout line.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import type { ModelConfig } from "@sage/model";
import { BENCH_DIR } from "../lib/results.js";
import type { BenchConfig } from "./configs.js";

export const PEER_SCRIPT = path.join(BENCH_DIR, "peers", "torch_model.py");
export const DEFAULT_PYTHON = "/usr/bin/python3";

export interface TorchInfo {
  available: boolean;
  python: string;
  version?: string;
  /** torch's default intra-op thread count on this machine (what the peer uses unless told). */
  defaultThreads?: number;
  note?: string;
}

export interface TorchResult {
  status: "ok" | "error";
  error?: string;
  torch?: string;
  threads?: number;
  blas?: string;
  parameters?: number;
  train?: {
    tokensPerStep: number;
    medianMs: number;
    tokensPerS: number;
    samplesMs: number[];
    losses: number[];
  };
  sampling?: { prompts: number; promptLen: number; newTokens: number; ms: number; tokensPerS: number };
  wallS?: number;
}

export function peerEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/** Is torch importable by `python`? (Never throws; the column is skipped with the note when not.) */
export function probeTorch(python: string): TorchInfo {
  if (!existsSync(python)) return { available: false, python, note: `${python} not found` };
  if (!existsSync(PEER_SCRIPT))
    return { available: false, python, note: `peer script ${PEER_SCRIPT} missing` };
  const r = spawnSync(python, ["-c", "import torch; print(torch.__version__, torch.get_num_threads())"], {
    env: peerEnv(),
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split("\n").pop() ?? "";
    return {
      available: false,
      python,
      note: `torch is not importable by ${python} (${why.slice(0, 200)}); install Debian's python3-torch and libopenblas0-pthread`,
    };
  }
  const [version, threads] = r.stdout.trim().split(/\s+/);
  const info: TorchInfo = { available: true, python };
  if (version) info.version = version;
  if (threads && /^\d+$/.test(threads)) info.defaultThreads = Number(threads);
  return info;
}

export interface TorchRunOptions {
  python: string;
  /** Intra-op threads; undefined = torch's default. */
  threads: number | undefined;
  quick: boolean;
  timeoutMs: number;
  seed: number;
}

/** Run the peer for one configuration. */
export function runTorch(bc: BenchConfig, c: ModelConfig, o: TorchRunOptions): Promise<TorchResult> {
  const steps = o.quick ? { warmup: 1, minSteps: 2, maxSteps: 3, budgetMs: 0 } : bc.peerSteps;
  const input = {
    config: {
      hiddenSize: c.hiddenSize,
      headDim: c.headDim,
      numHeads: c.numHeads,
      numKvHeads: c.numKvHeads,
      numLayers: c.numLayers,
      intermediateSize: c.intermediateSize,
      vocabSize: c.vocabSize,
      rmsNormEps: c.rmsNormEps,
      ropeTheta: c.ropeTheta,
      tieWordEmbeddings: c.tieWordEmbeddings,
      maxPositionEmbeddings: c.maxPositionEmbeddings,
    },
    batch: bc.batch,
    seqLen: bc.seqLen,
    warmup: steps.warmup,
    minSteps: steps.minSteps,
    maxSteps: steps.maxSteps,
    budgetS: steps.budgetMs / 1000,
    sampling: bc.sampling,
    seed: o.seed,
    threads: o.threads ?? 0,
  };
  return new Promise((resolve) => {
    const child = spawn(o.python, [PEER_SCRIPT, JSON.stringify(input)], {
      env: peerEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, o.timeoutMs);
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ status: "error", error: `could not start ${o.python}: ${e.message}` });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (timedOut) {
        resolve({ status: "error", error: `timed out after ${o.timeoutMs / 1000} s (--torch-timeout-s)` });
        return;
      }
      const last = stdout.trim().split("\n").pop() ?? "";
      if (code !== 0 || !last.startsWith("{")) {
        const tail = stderr.trim().split("\n").slice(-3).join(" | ");
        resolve({ status: "error", error: `exit ${code}: ${tail.slice(0, 400) || "no JSON on stdout"}` });
        return;
      }
      try {
        const parsed = JSON.parse(last) as Omit<TorchResult, "status">;
        resolve({ status: "ok", ...parsed });
      } catch (e) {
        resolve({ status: "error", error: `unparsable JSON from the peer: ${(e as Error).message}` });
      }
    });
  });
}
