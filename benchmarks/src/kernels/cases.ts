/**
 * Running one case (log-prob N×V, or matmul n) across all implementations: load, run once and
 * check against the float64 reference, then time. A wrong or failing implementation gets a
 * note instead of a time, and is dropped for the rest of that op ("aborts the column").
 */
import { type GpuContext, type Tensor, tokenLogprobs } from "@sage/kernels-webgpu";
import { type AllocationReport, trackAllocations } from "../lib/memory.js";
import { UsageError } from "../lib/suite.js";
import { fmtNum } from "../lib/table.js";
import { median, type RepeatOptions, repeatInterleaved, sig } from "../lib/timing.js";
import { logprobBlock, logprobCheckBlock, matrix } from "./data.js";
import {
  IMPL_LABELS,
  type ImplId,
  type LogprobBlock,
  logprobRunner,
  type MatmulDims,
  matmulRunner,
} from "./impl.js";
import { type CheckResult, check, logprobRef, matmulRefSample } from "./reference.js";

export type CellStatus = "ok" | "wrong" | "error" | "skipped";

export interface Cell {
  status: CellStatus;
  note?: string;
  /** Median wall time of one repetition (all blocks of the case), ms. */
  medianMs?: number;
  /** Logits read per second (log-prob) or GFLOP/s (matmul), from the median. */
  throughput?: number;
  samplesMs?: number[];
  check?: { ok: boolean; maxAbsErr: number; checked: number };
  /** Bytes allocated by one call of the op on one block (project's context only). */
  allocation?: AllocationReport;
}

export interface LogprobCase {
  N: number;
  V: number;
  logitsBytes: number;
  blockRows: number;
  blocks: number;
  poolBlocks: number;
  results: Partial<Record<ImplId, Cell>>;
}

export interface MatmulCase {
  n: number;
  flops: number;
  results: Partial<Record<ImplId, Cell>>;
}

export interface CaseOptions {
  impls: readonly ImplId[];
  timing: RepeatOptions;
  /** Largest block in bytes (row blocks of the logits; every implementation gets the same blocks). */
  blockBytes: number;
  poolBlocks: number;
  /** Implementations already dropped for this op, with the reason (mutated). */
  dropped: Map<ImplId, string>;
  log: (line: string) => void;
}

/** Rows per block: the largest divisor of N whose block fits in `blockBytes`. */
export function blockRowsFor(N: number, V: number, blockBytes: number): number {
  const max = Math.floor(blockBytes / (V * 4));
  if (max < 1) {
    throw new UsageError(
      `one row of V = ${V} logits (${V * 4} bytes) exceeds the block limit of ${blockBytes} bytes: raise --block-mib`,
    );
  }
  for (let r = Math.min(N, max); r >= 1; r--) if (N % r === 0) return r;
  return 1;
}

function describeError(e: unknown): string {
  const msg = e instanceof Error ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message}` : String(e);
  return msg.length > 300 ? `${msg.slice(0, 300)}…` : msg;
}

function checkSummary(c: CheckResult): NonNullable<Cell["check"]> {
  return { ok: c.ok, maxAbsErr: sig(c.maxAbsErr, 3), checked: c.checked };
}

export function describeMismatch(c: CheckResult): string {
  if (c.note) return c.note;
  const w = c.worst;
  if (!w) return "no output";
  return `element ${w.index} = ${w.actual}, expected ${sig(w.expected, 8)} (tolerance ${sig(w.tol, 2)})`;
}

/** One implementation at one case, loaded and ready. */
interface Prepared {
  /** Run once, untimed, and compare with the reference (also the warm-up). */
  check(): Promise<CheckResult>;
  /** The timed path once, untimed, where it differs from the checked call. */
  warm(): Promise<void>;
  /** One timed repetition; resolves when the device has finished. */
  rep(): Promise<void>;
  allocation?(): Promise<AllocationReport>;
  dispose(): void;
}

/**
 * Check every implementation at this shape (a wrong one is dropped for the rest of the op),
 * then time the survivors interleaved (see `repeatInterleaved`), all loaded at once.
 */
async function runCells(
  kind: "logprob" | "matmul",
  caseName: string,
  work: number,
  o: CaseOptions,
  prepare: (id: ImplId) => Promise<Prepared>,
): Promise<Partial<Record<ImplId, Cell>>> {
  const results: Partial<Record<ImplId, Cell>> = {};
  const loaded = new Map<ImplId, { p: Prepared; check: NonNullable<Cell["check"]> }>();
  const unit = kind === "logprob" ? "GB/s" : "GFLOP/s";
  try {
    for (const id of o.impls) {
      const label = IMPL_LABELS[id][kind];
      const dropped = o.dropped.get(id);
      if (dropped) {
        results[id] = { status: "skipped", note: dropped };
        continue;
      }
      let p: Prepared | undefined;
      try {
        p = await prepare(id);
        const c = await p.check();
        if (!c.ok) {
          const note = `wrong result at ${caseName}: ${describeMismatch(c)}`;
          results[id] = { status: "wrong", note, check: checkSummary(c) };
          o.dropped.set(id, `dropped after a wrong result at ${caseName}`);
          o.log(`  ${label}: WRONG — ${note}`);
          p.dispose();
          continue;
        }
        await p.warm();
        loaded.set(id, { p, check: checkSummary(c) });
      } catch (e) {
        const note = describeError(e);
        results[id] = { status: "error", note };
        o.log(`  ${label}: ERROR — ${note}`);
        p?.dispose();
      }
    }
    const fns = new Map([...loaded].map(([id, l]) => [id, () => l.p.rep()] as const));
    const { samples, errors } = await repeatInterleaved(fns, o.timing);
    for (const [id, l] of loaded) {
      const label = IMPL_LABELS[id][kind];
      const err = errors.get(id);
      if (err !== undefined) {
        const note = describeError(err);
        results[id] = { status: "error", note };
        o.log(`  ${label}: ERROR while timing — ${note}`);
        continue;
      }
      const s = samples.get(id) ?? [];
      const med = median(s);
      const cell: Cell = {
        status: "ok",
        medianMs: sig(med, 5),
        throughput: sig(work / (med * 1e6), 4),
        samplesMs: s.map((x) => sig(x, 5)),
        check: l.check,
      };
      if (l.p.allocation) cell.allocation = await l.p.allocation();
      results[id] = cell;
      o.log(`  ${label}: ${s.length} reps, median ${med.toFixed(1)} ms, ${fmtNum(cell.throughput)} ${unit}`);
    }
  } finally {
    for (const l of loaded.values()) l.p.dispose();
  }
  // Keep the column order of --impls.
  return Object.fromEntries(o.impls.filter((id) => results[id]).map((id) => [id, results[id]]));
}

export async function runLogprobCase(
  ctx: GpuContext,
  N: number,
  V: number,
  seed: number,
  o: CaseOptions,
): Promise<LogprobCase> {
  const rows = blockRowsFor(N, V, o.blockBytes);
  const blocks = N / rows;
  const poolBlocks = Math.min(o.poolBlocks, blocks);
  o.log(
    `log-prob ${N}×${V}: ${blocks} block(s) of ${rows} rows, ${((N * V * 4) / 1e9).toFixed(2)} GB of logits`,
  );
  const pool: LogprobBlock[] = [];
  for (let i = 0; i < poolBlocks; i++) pool.push(logprobBlock(rows, V, seed + i));
  const ref = logprobRef((pool[0] as LogprobBlock).logits, (pool[0] as LogprobBlock).targets, rows, V);
  const order = Array.from({ length: blocks }, (_, i) => i % poolBlocks);
  const results = await runCells("logprob", `${N}×${V}`, N * V * 4, o, async (id) => {
    const r = await logprobRunner(id, ctx, pool, rows, V);
    const p: Prepared = {
      check: async () => check(await r.runOnce(0), ref.logp, ref.tol),
      warm: () => r.runBlocks([0]),
      rep: () => r.runBlocks(order),
      dispose: () => r.dispose(),
    };
    const alloc = r.allocation;
    if (alloc) p.allocation = () => alloc.call(r, 0);
    return p;
  });
  return { N, V, logitsBytes: N * V * 4, blockRows: rows, blocks, poolBlocks, results };
}

export async function runMatmulCase(
  ctx: GpuContext,
  n: number,
  seed: number,
  o: CaseOptions,
): Promise<MatmulCase> {
  const d: MatmulDims = { m: n, k: n, n };
  const flops = 2 * n * n * n;
  o.log(`matmul ${n}×${n}×${n}: ${(flops / 1e9).toFixed(2)} GFLOP`);
  const a = matrix(n, n, seed);
  const b = matrix(n, n, seed + 1);
  const ref = matmulRefSample(a, b, n, n, n, 512, seed);
  const results = await runCells("matmul", `n = ${n}`, flops, o, async (id) => {
    const r = await matmulRunner(id, ctx, a, b, d);
    return {
      check: async () => {
        const got = await r.runOnce();
        return check(
          ref.indices.map((i) => got[i] ?? Number.NaN),
          ref.expected,
          ref.tol,
        );
      },
      // The checked call above ran the same op (pipelines compiled, jit traced); no second warm-up.
      warm: async () => {},
      rep: () => r.run(),
      dispose: () => r.dispose(),
    };
  });
  return { n, flops, results };
}

/** speedup[a][b] = median(b) / median(a): how many times faster a is than b. */
export function ratios(
  results: Partial<Record<ImplId, Cell>>,
): Partial<Record<ImplId, Partial<Record<ImplId, number>>>> {
  const out: Partial<Record<ImplId, Partial<Record<ImplId, number>>>> = {};
  for (const [a, ca] of Object.entries(results) as [ImplId, Cell][]) {
    if (ca.status !== "ok" || !ca.medianMs) continue;
    const row: Partial<Record<ImplId, number>> = {};
    for (const [b, cb] of Object.entries(results) as [ImplId, Cell][]) {
      if (a === b || cb.status !== "ok" || !cb.medianMs) continue;
      row[b] = sig(cb.medianMs / ca.medianMs, 4);
    }
    out[a] = row;
  }
  return out;
}

export interface CorrectnessEntry {
  ok: boolean;
  shape: string;
  maxAbsErr?: number;
  checked?: number;
  note?: string;
}

/**
 * The small cases every implementation must pass before anything is timed: token log-probs on
 * 37×1003 (odd sizes, rows shifted by ±1e4, one dominant logit, targets at both ends) and matmul
 * 67×45×33 (no dimension a multiple of 4 or of a tile), all elements against float64.
 */
export async function runCorrectness(
  ctx: GpuContext,
  impls: readonly ImplId[],
  unavailable: ReadonlyMap<ImplId, string>,
): Promise<Record<ImplId, { logprob: CorrectnessEntry; matmul: CorrectnessEntry }>> {
  const out = {} as Record<ImplId, { logprob: CorrectnessEntry; matmul: CorrectnessEntry }>;
  const lp = logprobCheckBlock();
  const rows = lp.targets.length;
  const V = lp.logits.length / rows;
  const lpRef = logprobRef(lp.logits, lp.targets, rows, V);
  const d: MatmulDims = { m: 67, k: 45, n: 33 };
  const a = matrix(d.m, d.k, 11);
  const b = matrix(d.k, d.n, 12);
  const mmRef = matmulRefSample(a, b, d.m, d.k, d.n, Number.POSITIVE_INFINITY);
  for (const id of impls) {
    const lpShape = `${rows}×${V}`;
    const mmShape = `${d.m}×${d.k}×${d.n}`;
    const why = unavailable.get(id);
    if (why) {
      out[id] = {
        logprob: { ok: false, shape: lpShape, note: why },
        matmul: { ok: false, shape: mmShape, note: why },
      };
      continue;
    }
    const entry = async (shape: string, fn: () => Promise<CheckResult>): Promise<CorrectnessEntry> => {
      try {
        const c = await fn();
        const e: CorrectnessEntry = { ok: c.ok, shape, maxAbsErr: sig(c.maxAbsErr, 3), checked: c.checked };
        if (!c.ok) e.note = `wrong result: ${describeMismatch(c)}`;
        return e;
      } catch (err) {
        return { ok: false, shape, note: `error: ${describeError(err)}` };
      }
    };
    const logprob = await entry(lpShape, async () => {
      const r = await logprobRunner(id, ctx, [lp], rows, V);
      try {
        return check(await r.runOnce(0), lpRef.logp, lpRef.tol);
      } finally {
        r.dispose();
      }
    });
    const matmul = await entry(mmShape, async () => {
      const r = await matmulRunner(id, ctx, a, b, d);
      try {
        return check(await r.runOnce(), mmRef.expected, mmRef.tol);
      } finally {
        r.dispose();
      }
    });
    out[id] = { logprob, matmul };
  }
  return out;
}

export interface MemoryCheck {
  N: number;
  V: number;
  logitsBytes: number;
  /** Peak bytes of GPU buffers created by one `tokenLogprobs` call on the whole [N, V] tensor. */
  opPeakBytes: number;
  opBuffers: number;
  /** The O(N) allowance: 64 bytes per row + 1 MiB. */
  allowanceBytes: number;
  /** Peak total (logits + op) and the bound N·V·4 + allowance. */
  peakBytes: number;
  boundBytes: number;
  pass: boolean;
  /** The whole-tensor call (the op chunks it internally) agrees with the reference on block 0. */
  check: { ok: boolean; maxAbsErr: number; checked: number };
}

export const ALLOWANCE_PER_ROW = 64;
export const ALLOWANCE_CONST = 2 ** 20;

/**
 * Peak memory of the project's op on one whole [N, V] logits tensor (not blocks: the op has to
 * chunk it under the binding limit itself). Every buffer the call creates is counted
 * (`lib/memory.ts`); the bound is N·V·4 (the logits) + 64·N + 1 MiB.
 */
export async function runMemoryCheck(
  ctx: GpuContext,
  N: number,
  V: number,
  seed: number,
  blockBytes: number,
) {
  const rows = blockRowsFor(N, V, blockBytes);
  const block = logprobBlock(rows, V, seed);
  const logits = ctx.empty([N, V], "f32", "bench:whole-logits") as Tensor<"f32">;
  const targets = ctx.empty([N], "i32", "bench:whole-targets") as Tensor<"i32">;
  try {
    for (let r0 = 0; r0 < N; r0 += rows) {
      ctx.write(logits, block.logits, r0 * V);
      ctx.write(targets, block.targets, r0);
    }
    await ctx.sync();
    const { value, report } = await trackAllocations(ctx, () => tokenLogprobs(ctx, logits, targets));
    const logp = await value.logp.read();
    value.logp.destroy();
    value.lse.destroy();
    const ref = logprobRef(block.logits, block.targets, rows, V);
    const lastBlock = logp.subarray((N / rows - 1) * rows);
    const c0 = check(logp.subarray(0, rows), ref.logp, ref.tol);
    const c1 = check(lastBlock, ref.logp, ref.tol);
    const allowanceBytes = ALLOWANCE_PER_ROW * N + ALLOWANCE_CONST;
    const result: MemoryCheck = {
      N,
      V,
      logitsBytes: N * V * 4,
      opPeakBytes: report.peakBytes,
      opBuffers: report.buffers,
      allowanceBytes,
      peakBytes: N * V * 4 + report.peakBytes,
      boundBytes: N * V * 4 + allowanceBytes,
      pass: report.peakBytes <= allowanceBytes,
      check: {
        ok: c0.ok && c1.ok,
        maxAbsErr: sig(Math.max(c0.maxAbsErr, c1.maxAbsErr), 3),
        checked: c0.checked + c1.checked,
      },
    };
    return result;
  } finally {
    logits.destroy();
    targets.destroy();
  }
}
