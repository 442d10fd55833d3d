/**
 * `npm run bench -- kernels [--quick] [--out FILE] [--sizes LIST] [--impls LIST] …`
 *
 * The project's fused token log-prob and matmul kernels against a naive unfused WGSL version
 * (same runtime) and the peer jax-js under `jit` on WebGPU (same adapter) and on Wasm (CPU):
 * prints the adapter, checks every implementation against float64 before timing, times with
 * warm-up and repetitions (waiting for the device inside the timed region), evaluates the
 * issue's targets, and writes one JSON file atomically.
 */
import type { GpuContext } from "@sage/kernels-webgpu";
import {
  type CaseOptions,
  type CorrectnessEntry,
  type LogprobCase,
  type MatmulCase,
  type MemoryCheck,
  ratios,
  runCorrectness,
  runLogprobCase,
  runMatmulCase,
  runMemoryCheck,
} from "../kernels/cases.js";
import { IMPL_IDS, IMPL_LABELS, type ImplId } from "../kernels/impl.js";
import { jaxVersion, loadJax } from "../kernels/jax.js";
import { cellNotes, evaluateTargets, resultTable, targetLines } from "../kernels/report.js";
import { adapterLine as formatAdapterLine, withGpu } from "../lib/gpu.js";
import {
  displayPath,
  environment,
  loadWarnings,
  resultsFile,
  resultsHeader,
  targetSummary,
  writeJsonAtomic,
} from "../lib/results.js";
import { parseSuiteArgs, positiveInt, type Suite, UsageError } from "../lib/suite.js";
import { fmtBytes } from "../lib/table.js";
import type { RepeatOptions } from "../lib/timing.js";

const FULL = {
  logprob: [
    [4096, 32000],
    [8192, 65536],
    [16384, 152064],
  ] as [number, number][],
  matmul: [512, 1024, 2048],
  timing: { warmup: 0, minReps: 3, maxReps: 10, budgetMs: 10_000, capMs: 30_000 },
};
const QUICK = {
  logprob: [
    [1024, 32000],
    [512, 152064],
  ] as [number, number][],
  matmul: [512, 1024],
  timing: { warmup: 0, minReps: 3, maxReps: 5, budgetMs: 2_000, capMs: 10_000 },
};
/** Largest whole [N, V] tensor used for the peak-memory check. */
const MEMORY_CHECK_MAX_BYTES = 2 ** 30;

const USAGE = `usage: npm run bench -- kernels [options]

  --quick            small cases, fewer repetitions (about a minute on 2 cores)
  --out FILE         results JSON (default benchmarks/results/kernels-<adapter>.json;
                     with --quick benchmarks/out/kernels-<adapter>-quick.json, git-ignored)
  --sizes LIST       cases to run, comma-separated: NxV for token log-probs (e.g. 4096x32000),
                     a single n for an n×n×n matmul (e.g. 1024); default
                     full: ${FULL.logprob.map(([n, v]) => `${n}x${v}`).join(",")},${FULL.matmul.join(",")}
                     quick: ${QUICK.logprob.map(([n, v]) => `${n}x${v}`).join(",")},${QUICK.matmul.join(",")}
  --impls LIST       implementations (default all): ${IMPL_IDS.join(",")}
  --min-reps N       timed repetitions at least (default 3)
  --max-reps N       timed repetitions at most (default 10, quick 5)
  --budget-s S       keep repeating until S seconds per cell are spent (default 10, quick 2);
                     a cell stops early once 3·S (at least 30 s, quick 10 s) are spent
  --block-mib M      log-prob row blocks of at most M MiB (default: the adapter's
                     maxStorageBufferBindingSize, at most 128)`;

interface Config {
  quick: boolean;
  out: string | undefined;
  logprob: [number, number][];
  matmul: number[];
  impls: ImplId[];
  timing: RepeatOptions;
  blockMiB: number | undefined;
}

export function parseKernelArgs(args: readonly string[]): Config {
  const v = parseSuiteArgs(args, {
    quick: { type: "boolean" },
    out: { type: "string" },
    sizes: { type: "string" },
    impls: { type: "string" },
    "min-reps": { type: "string" },
    "max-reps": { type: "string" },
    "budget-s": { type: "string" },
    "block-mib": { type: "string" },
  });
  const quick = v.quick === true;
  const base = quick ? QUICK : FULL;
  let logprob = base.logprob;
  let matmul = base.matmul;
  if (v.sizes !== undefined) {
    logprob = [];
    matmul = [];
    for (const tok of v.sizes.split(",").map((s) => s.trim())) {
      const m = /^(\d+)x(\d+)$/i.exec(tok);
      if (m)
        logprob.push([
          positiveInt(m[1] ?? "", "N in --sizes", 1 << 20),
          positiveInt(m[2] ?? "", "V in --sizes", 1 << 22),
        ]);
      else if (/^\d+$/.test(tok)) matmul.push(positiveInt(tok, "matmul n in --sizes", 8192));
      else
        throw new UsageError(
          `--sizes: expected NxV (token log-probs) or n (matmul), received '${tok.slice(0, 40)}'`,
        );
    }
  }
  let impls = [...IMPL_IDS];
  if (v.impls !== undefined) {
    impls = [];
    for (const s of v.impls.split(",").map((x) => x.trim())) {
      if (!(IMPL_IDS as readonly string[]).includes(s)) {
        throw new UsageError(
          `--impls: expected some of ${IMPL_IDS.join(", ")}, received '${s.slice(0, 40)}'`,
        );
      }
      impls.push(s as ImplId);
    }
  }
  const timing = { ...base.timing };
  if (v["min-reps"] !== undefined) timing.minReps = positiveInt(v["min-reps"], "--min-reps", 1000);
  if (v["max-reps"] !== undefined) timing.maxReps = positiveInt(v["max-reps"], "--max-reps", 1000);
  if (timing.maxReps < timing.minReps) timing.maxReps = timing.minReps;
  if (v["budget-s"] !== undefined) {
    timing.budgetMs = 1000 * positiveInt(v["budget-s"], "--budget-s", 3600);
    timing.capMs = Math.max(timing.capMs, 3 * timing.budgetMs);
  }
  return {
    quick,
    out: v.out,
    logprob,
    matmul,
    impls,
    timing,
    blockMiB: v["block-mib"] === undefined ? undefined : positiveInt(v["block-mib"], "--block-mib", 1 << 16),
  };
}

async function run(args: readonly string[]): Promise<number> {
  const cfg = parseKernelArgs(args);
  const started = new Date();
  return withGpu((ctx) => runWith(ctx, cfg, started));
}

async function runWith(ctx: GpuContext, cfg: Config, started: Date): Promise<number> {
  const log = (s: string) => console.log(s);
  const env = environment();
  const report = ctx.report;
  const adapterLine = formatAdapterLine(ctx);
  log(`SAGE kernel benchmark${cfg.quick ? " (--quick)" : ""}`);
  log(`adapter: ${adapterLine}`);
  const jaxVer = await jaxVersion();
  log(`node ${env.node} · ${env.cpu} × ${env.cpus} · ${env.memoryGiB} GiB · jax-js ${jaxVer}`);
  const warnings = loadWarnings(
    env,
    ", and lavapipe (multi-threaded) suffers more than jax-js Wasm; the timings and ratios are unreliable",
  );
  log(`load average at start: ${env.loadAverage.join(", ")}`);
  for (const w of warnings) log(`WARNING: ${w}`);

  // Peers: start jax-js (after openGpu made navigator.gpu the context's GPU instance).
  const unavailable = new Map<ImplId, string>();
  if (cfg.impls.some((i) => i.startsWith("jax-"))) {
    try {
      const { devices } = await loadJax();
      if (!devices.includes("webgpu"))
        unavailable.set("jax-webgpu", "jax-js could not start its WebGPU backend");
      if (!devices.includes("wasm")) unavailable.set("jax-wasm", "jax-js could not start its Wasm backend");
    } catch (e) {
      const why = `jax-js failed to load: ${e instanceof Error ? e.message : String(e)}`;
      unavailable.set("jax-webgpu", why);
      unavailable.set("jax-wasm", why);
    }
  }

  // 1. Correctness before timing.
  log("\ncorrectness against float64 (before timing)");
  const correctness = await runCorrectness(ctx, cfg.impls, unavailable);
  const droppedLp = new Map<ImplId, string>();
  const droppedMm = new Map<ImplId, string>();
  const fmtCheck = (e: CorrectnessEntry) =>
    e.ok ? `ok (max |err| ${e.maxAbsErr?.toExponential(1)})` : `FAILED — ${e.note ?? "?"}`;
  for (const id of cfg.impls) {
    const c = correctness[id];
    log(`  ${IMPL_LABELS[id].logprob.padEnd(14)} log-prob ${c.logprob.shape}: ${fmtCheck(c.logprob)}`);
    log(`  ${"".padEnd(14)} matmul ${c.matmul.shape}: ${fmtCheck(c.matmul)}`);
    if (!c.logprob.ok) droppedLp.set(id, `failed the correctness check: ${c.logprob.note ?? ""}`);
    if (!c.matmul.ok) droppedMm.set(id, `failed the correctness check: ${c.matmul.note ?? ""}`);
  }

  // 2. Timing.
  const bindingMax = ctx.limits.maxStorageBufferBindingSize;
  const blockBytes = Math.min(bindingMax, (cfg.blockMiB ?? 128) * 2 ** 20);
  const base = { impls: cfg.impls, timing: cfg.timing, blockBytes, poolBlocks: 2, log };
  const lpCases: LogprobCase[] = [];
  const mmCases: MatmulCase[] = [];
  log("");
  for (const [i, [N, V]] of cfg.logprob.entries()) {
    const o: CaseOptions = { ...base, dropped: droppedLp };
    lpCases.push(await runLogprobCase(ctx, N, V, 1000 + 10 * i, o));
  }
  for (const [i, n] of cfg.matmul.entries()) {
    const o: CaseOptions = { ...base, dropped: droppedMm };
    mmCases.push(await runMatmulCase(ctx, n, 2000 + 10 * i, o));
  }

  // 3. Peak memory of the project's op on a whole [N, V] tensor (it chunks it itself).
  let memory: MemoryCheck | undefined;
  let memoryNote = "";
  // The largest case that fits one buffer (≤ 1 GiB): above the binding limit, the op must chunk.
  const memLimit = Math.min(MEMORY_CHECK_MAX_BYTES, ctx.limits.maxBufferSize);
  const memCase = cfg.logprob
    .filter(([N, V]) => N * V * 4 <= memLimit)
    .reduce<[number, number] | undefined>((a, c) => (!a || c[0] * c[1] > a[0] * a[1] ? c : a), undefined);
  if (!cfg.impls.includes("sage")) memoryNote = "the project's kernel was not selected (--impls)";
  else if (droppedLp.has("sage")) memoryNote = `not measured: ${droppedLp.get("sage")}`;
  else if (!memCase) memoryNote = `no log-prob case with N·V·4 ≤ ${fmtBytes(MEMORY_CHECK_MAX_BYTES)}`;
  else {
    try {
      memory = await runMemoryCheck(ctx, memCase[0], memCase[1], 3000, blockBytes);
    } catch (e) {
      memoryNote = `error: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  // 4. Report.
  const lpNamed = lpCases.map((c) => ({ name: `${c.N}×${c.V}`, results: c.results }));
  const mmNamed = mmCases.map((c) => ({ name: String(c.n), results: c.results }));
  const targets = evaluateTargets(lpCases, mmCases, memory, memoryNote);
  log(`\nadapter: ${adapterLine}`);
  if (lpCases.length > 0) {
    log("\ntoken log-probs, fused forward (median wall time per case; GB/s of logits read)");
    log(resultTable("logprob", cfg.impls, lpNamed));
    const sageAlloc = lpCases.map((c) => c.results.sage?.allocation).filter((a) => a !== undefined);
    const naiveAlloc = lpCases.map((c) => c.results.naive?.allocation).filter((a) => a !== undefined);
    if (sageAlloc.length > 0 || naiveAlloc.length > 0) {
      log(
        `GPU bytes allocated by one call on one block (inputs excluded): ` +
          lpCases
            .map(
              (c) =>
                `${c.N}×${c.V} (block ${c.blockRows} rows): sage ${fmtBytes(c.results.sage?.allocation?.peakBytes ?? 0)}, ` +
                `naive ${fmtBytes(c.results.naive?.allocation?.peakBytes ?? 0)}`,
            )
            .join("; "),
      );
    }
    for (const line of cellNotes("logprob", lpNamed)) log(line);
  }
  if (mmCases.length > 0) {
    log("\nmatmul n×n×n, f32 (median wall time; GFLOP/s)");
    log(resultTable("matmul", cfg.impls, mmNamed));
    for (const line of cellNotes("matmul", mmNamed)) log(line);
  }
  log("\ntargets (issue: lavapipe on a 2-core machine)");
  for (const line of targetLines(targets)) log(`  ${line}`);

  const out = resultsFile("kernels", cfg.quick, cfg.out, report);
  const json = {
    ...resultsHeader("kernels", started, cfg.quick, adapterLine, report, env),
    peers: { "@jax-js/jax": jaxVer },
    config: {
      impls: cfg.impls,
      timing: cfg.timing,
      blockBytes,
      poolBlocks: base.poolBlocks,
      notes: [
        "Wall-clock medians; each repetition waits for the device (read-back or onSubmittedWorkDone) before it ends.",
        "Log-prob cases run as row blocks of at most blockBytes (the same blocks for every implementation), " +
          "each block waited for before the next (bounds memory in flight); poolBlocks distinct blocks are " +
          "resident and reused in turn. 16384×152064 f32 is 10 GB, over maxBufferSize (4 GiB on lavapipe).",
        "sage fused runs tokenLogprobs with its default finite/target checks (one 8-byte read-back per call).",
        "jax-js: jit(takeAlongAxis(logSoftmax(x), t, 1)) and jit(matmul), inputs resident on the backend.",
      ],
    },
    warnings,
    correctness,
    logprob: lpCases.map((c) => ({ ...c, ratios: ratios(c.results) })),
    memory: memory ?? { note: memoryNote },
    matmul: mmCases.map((c) => ({ ...c, ratios: ratios(c.results) })),
    targets,
    summary: targetSummary(targets),
  };
  writeJsonAtomic(out, json);
  log(`\nresults: ${displayPath(out)}`);

  // A wrong result from the project's own kernels is a failure; peers and targets are reported.
  const sageWrong =
    cfg.impls.includes("sage") &&
    (!correctness.sage.logprob.ok ||
      !correctness.sage.matmul.ok ||
      [...lpCases, ...mmCases].some((c) => c.results.sage?.status === "wrong") ||
      (memory !== undefined && !memory.check.ok));
  if (sageWrong) log("the project's kernels produced a WRONG result (see above)");
  return sageWrong ? 1 : 0;
}

export const suite: Suite = {
  name: "kernels",
  description: "fused token log-probs and matmul vs naive WGSL and jax-js (WebGPU, Wasm)",
  usage: USAGE,
  run,
};
