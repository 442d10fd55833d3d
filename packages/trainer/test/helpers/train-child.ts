// Child process for the kill/resume tests: a DPO run of the toy policy with a scoring selector.
// Usage: train-child.ts <runDir> <steps> <delayMs> [--resume]
import { exitCodeForSignal, runDpo } from "../../src/index.js";
import { synthPairs } from "./data.js";
import { PoolSelector } from "./selectors.js";
import { ToyPolicy } from "./toy-policy.js";

export const CHILD_CONFIG = {
  batchSize: 8,
  beta: 0.5,
  learningRate: 0.05,
  seed: 11,
  checkpointEvery: 4,
} as const;
export const childPairs = () => synthPairs(120, 5);
export const childSelector = () => new PoolSelector({ refreshEvery: 6, poolSize: 32 });

async function main(): Promise<void> {
  const [runDir, steps, delayMs, flag] = process.argv.slice(2);
  const result = await runDpo({
    config: { ...CHILD_CONFIG, steps: Number(steps) },
    policy: new ToyPolicy({ delayMs: Number(delayMs) }),
    selector: childSelector(),
    pairs: childPairs(),
    runDir: runDir!,
    resume: flag === "--resume",
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (result.signal) process.exitCode = exitCodeForSignal(result.signal);
}

if (process.argv[1]?.endsWith("train-child.ts")) await main();
