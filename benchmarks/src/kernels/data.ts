/** Seeded inputs for the kernel suite. */
import { randomF32, rng } from "@sage/kernels-webgpu/testing";
import type { LogprobBlock } from "./impl.js";

/** Logits uniform in [−8, 8) and uniform target ids. */
export function logprobBlock(rows: number, V: number, seed: number): LogprobBlock {
  const logits = randomF32(rows * V, seed, -8, 8);
  const r = rng(seed ^ 0x5eed);
  const targets = new Int32Array(rows);
  for (let i = 0; i < rows; i++) targets[i] = Math.floor(r() * V);
  return { logits, targets };
}

/**
 * The small correctness case: V not a multiple of 4 or of any workgroup size, a row shifted by
 * +1e4 and one by −1e4 (needs max-subtraction), a row with one dominant logit, targets at the
 * first and last column.
 */
export function logprobCheckBlock(rows = 37, V = 1003, seed = 7): LogprobBlock {
  const b = logprobBlock(rows, V, seed);
  for (let v = 0; v < V; v++) {
    b.logits[3 * V + v] = (b.logits[3 * V + v] as number) + 1e4;
    b.logits[5 * V + v] = (b.logits[5 * V + v] as number) - 1e4;
  }
  b.logits[7 * V + 11] = 60;
  b.targets[7] = 11;
  b.targets[0] = 0;
  b.targets[1] = V - 1;
  return b;
}

export function matrix(rows: number, cols: number, seed: number): Float32Array {
  return randomF32(rows * cols, seed, -1, 1);
}
