import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type MetricsRecord, readMetrics, runDpo } from "../src/index.js";
import { tempDir } from "./helpers/data.js";
import { ToyPolicy } from "./helpers/toy-policy.js";
import { CHILD_CONFIG, childPairs, childSelector } from "./helpers/train-child.js";

const here = dirname(fileURLToPath(import.meta.url));
const script = join(here, "helpers", "train-child.ts");
const STEPS = 40;

function startChild(
  runDir: string,
  resume: boolean,
  delayMs: number,
): {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
} {
  const child = spawn(
    process.execPath,
    [
      "--conditions=@sage/source",
      "--import",
      "tsx",
      script,
      runDir,
      String(STEPS),
      String(delayMs),
      ...(resume ? ["--resume"] : []),
    ],
    { stdio: ["ignore", "pipe", "pipe"], cwd: join(here, "..") },
  );
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += String(d)));
  child.stderr!.on("data", (d) => (stderr += String(d)));
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

/**
 * Poll the metrics until `step` is there. A child that exits first fails at once; the test timeout
 * bounds a hang. No clock is read.
 */
async function waitForStep(
  metricsPath: string,
  step: number,
  done: Promise<{ code: number | null }>,
): Promise<void> {
  let exited: number | null | undefined;
  void done.then((r) => {
    exited = r.code;
  });
  for (;;) {
    const m = await readMetrics(metricsPath, { allowMissing: true, allowTornTail: true }).catch(() => []);
    if (m.some((r) => r.step >= step)) return;
    if (exited !== undefined) throw new Error(`child exited (${exited}) before step ${step}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function deterministic(records: MetricsRecord[]): MetricsRecord[] {
  return records.map((r) =>
    Object.fromEntries(
      Object.entries(r).filter(([k]) => !k.startsWith("time/") && k !== "sage/scoring_time_share"),
    ),
  ) as MetricsRecord[];
}

async function reference(): Promise<{ metrics: MetricsRecord[]; theta: number[] }> {
  const policy = new ToyPolicy();
  const r = await runDpo({
    config: { ...CHILD_CONFIG, steps: STEPS },
    policy,
    selector: childSelector(),
    pairs: childPairs(),
    runDir: await tempDir(),
    log: () => {},
  });
  return { metrics: deterministic(await readMetrics(r.metricsPath)), theta: Array.from(policy.theta) };
}

async function finalTheta(runDir: string): Promise<number[]> {
  const b = await readFile(
    join(runDir, "checkpoints", `step-${String(STEPS).padStart(8, "0")}`, "policy", "theta.f64"),
  );
  return Array.from(new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8));
}

describe("a training process killed mid-run resumes to the uninterrupted result", () => {
  it("SIGKILL: resumes from the last periodic checkpoint, bit for bit", async () => {
    const expected = await reference();
    const runDir = await tempDir();
    const first = startChild(runDir, false, 25);
    await waitForStep(join(runDir, "metrics.jsonl"), 14, first.done);
    first.child.kill("SIGKILL");
    const killed = await first.done;
    expect(killed.signal).toBe("SIGKILL");
    const partial = await readMetrics(join(runDir, "metrics.jsonl"), { allowTornTail: true });
    expect(partial.length).toBeLessThan(STEPS); // it really died mid-run
    const second = startChild(runDir, true, 0);
    const resumed = await second.done;
    expect(resumed.code, resumed.stderr).toBe(0);
    const result = JSON.parse(resumed.stdout) as { status: string; resumedFrom: number };
    expect(result.status).toBe("completed");
    expect(result.resumedFrom % CHILD_CONFIG.checkpointEvery).toBe(0);
    expect(result.resumedFrom).toBeGreaterThanOrEqual(12);
    expect(deterministic(await readMetrics(join(runDir, "metrics.jsonl")))).toEqual(expected.metrics);
    expect(await finalTheta(runDir)).toEqual(expected.theta);
  });

  it("SIGTERM: writes a checkpoint at the current step, exits 143, resumes bit for bit", async () => {
    const expected = await reference();
    const runDir = await tempDir();
    const first = startChild(runDir, false, 25);
    await waitForStep(join(runDir, "metrics.jsonl"), 10, first.done);
    first.child.kill("SIGTERM");
    const stopped = await first.done;
    expect(stopped.code, stopped.stderr).toBe(143);
    expect(stopped.stderr).toContain("received SIGTERM");
    const r1 = JSON.parse(stopped.stdout) as { status: string; step: number; checkpoint: string };
    expect(r1.status).toBe("interrupted");
    expect(r1.checkpoint).toContain(`step-${String(r1.step).padStart(8, "0")}`);
    const second = startChild(runDir, true, 0);
    const resumed = await second.done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((JSON.parse(resumed.stdout) as { resumedFrom: number }).resumedFrom).toBe(r1.step);
    expect(deterministic(await readMetrics(join(runDir, "metrics.jsonl")))).toEqual(expected.metrics);
    expect(await finalTheta(runDir)).toEqual(expected.theta);
  });
});
