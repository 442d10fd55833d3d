/**
 * `npm run bench -- model [--quick] [--configs LIST] [--out FILE] …`
 *
 * `@sage/model` (GPU policy + AdamW + KV-cache sampling) at about 1M, 10M and 100M parameters:
 * prints the adapter, checks GPU logits against the float64 reference before timing, then times
 * training (forward + backward + AdamW, GPU waited inside each timed step), greedy sampling with
 * the KV cache and with full recomputation, and records peak GPU memory; runs the same
 * architecture in PyTorch on the CPU as a peer; evaluates the issue's targets; writes one JSON.
 */
import type { GpuContext } from "@sage/kernels-webgpu";
import { parameterCount } from "@sage/model";
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
import { type BenchConfig, CONFIG_IDS, CONFIGS, type ConfigId, describeConfig } from "../model/configs.js";
import { LOGIT_RTOL, modelConfig, runOurs } from "../model/ours.js";
import {
  type ConfigEntry,
  evaluateTargets,
  KV_SPEEDUP_TARGET,
  ratiosFor,
  resultTable,
  TRAIN_TARGET_TOKENS_PER_S,
  targetLines,
} from "../model/report.js";
import { DEFAULT_PYTHON, probeTorch, runTorch, type TorchInfo } from "../model/torch.js";

const PEERS = ["torch"] as const;

const USAGE = `usage: npm run bench -- model [options]

  --quick              only the 1M config, few steps (a minute or two on 2 cores);
                       results go to benchmarks/out/ (git-ignored)
  --configs LIST       configs to run, comma-separated: ${CONFIG_IDS.join(",")} (default all; --quick: 1m)
  --steps N            timed training steps per config (overrides the per-config plan:
                       1m 5–10, 10m 3–5, 100m 1–2; --quick 3, 2, 1)
  --recompute LIST     configs whose sampling is also timed with full recomputation
                       (default 1m; "none" for none); slow: O(new tokens²) forward work
  --new-tokens N       new tokens per prompt when sampling (default 128; the KV target is at 128)
  --peers LIST         torch or none (default torch)
  --python PATH        Python with torch for the peer (default ${DEFAULT_PYTHON})
  --torch-threads N    torch intra-op threads (default: torch's own default, recorded)
  --torch-timeout-s S  kill the peer after S seconds per config (default 900)
  --out FILE           results JSON (default benchmarks/results/model-<adapter>.json;
                       with --quick benchmarks/out/model-<adapter>-quick.json)
  --seed N             weights / data seed (default 1)`;

interface Options {
  quick: boolean;
  configs: ConfigId[];
  steps: number | undefined;
  recompute: Set<ConfigId>;
  newTokens: number;
  peers: Set<(typeof PEERS)[number]>;
  python: string;
  torchThreads: number | undefined;
  torchTimeoutMs: number;
  out: string | undefined;
  seed: number;
}

function configList(s: string, what: string): ConfigId[] {
  if (s.trim() === "none") return [];
  const out: ConfigId[] = [];
  for (const tok of s.split(",").map((x) => x.trim().toLowerCase())) {
    if (!(CONFIG_IDS as readonly string[]).includes(tok)) {
      throw new UsageError(
        `${what}: expected some of ${CONFIG_IDS.join(", ")}, received '${tok.slice(0, 40)}'`,
      );
    }
    if (!out.includes(tok as ConfigId)) out.push(tok as ConfigId);
  }
  return out;
}

export function parseModelArgs(args: readonly string[]): Options {
  const v = parseSuiteArgs(args, {
    quick: { type: "boolean" },
    configs: { type: "string" },
    steps: { type: "string" },
    recompute: { type: "string" },
    "new-tokens": { type: "string" },
    peers: { type: "string" },
    python: { type: "string" },
    "torch-threads": { type: "string" },
    "torch-timeout-s": { type: "string" },
    out: { type: "string" },
    seed: { type: "string" },
  });
  const quick = v.quick === true;
  const configs =
    v.configs !== undefined ? configList(v.configs, "--configs") : quick ? ["1m" as const] : [...CONFIG_IDS];
  if (configs.length === 0) throw new UsageError("--configs: expected at least one config, received none");
  const peers = new Set<(typeof PEERS)[number]>();
  for (const p of (v.peers ?? "torch").split(",").map((x) => x.trim())) {
    if (p === "none") continue;
    if (!(PEERS as readonly string[]).includes(p)) {
      throw new UsageError(`--peers: expected torch or none, received '${p.slice(0, 40)}'`);
    }
    peers.add(p as (typeof PEERS)[number]);
  }
  return {
    quick,
    configs,
    steps: v.steps === undefined ? undefined : positiveInt(v.steps, "--steps", 1000),
    recompute: new Set(
      v.recompute === undefined ? (["1m"] as ConfigId[]) : configList(v.recompute, "--recompute"),
    ),
    newTokens: v["new-tokens"] === undefined ? 128 : positiveInt(v["new-tokens"], "--new-tokens", 512),
    peers,
    python: v.python ?? DEFAULT_PYTHON,
    torchThreads:
      v["torch-threads"] === undefined ? undefined : positiveInt(v["torch-threads"], "--torch-threads", 256),
    torchTimeoutMs:
      1000 *
      (v["torch-timeout-s"] === undefined
        ? 900
        : positiveInt(v["torch-timeout-s"], "--torch-timeout-s", 86_400)),
    out: v.out,
    seed: v.seed === undefined ? 1 : positiveInt(v.seed, "--seed", 2 ** 31 - 1),
  };
}

/** The config as run: per-config plans with the command-line overrides applied. */
function planFor(id: ConfigId, o: Options): BenchConfig {
  const base = CONFIGS[id];
  const steps = { ...(o.quick ? base.quickSteps : base.steps) };
  if (o.steps !== undefined) {
    steps.minSteps = o.steps;
    steps.maxSteps = o.steps;
    steps.budgetMs = 0;
  }
  return {
    ...base,
    steps,
    sampling: { ...base.sampling, newTokens: o.newTokens },
    recompute: o.recompute.has(id),
  };
}

async function run(args: readonly string[]): Promise<number> {
  const o = parseModelArgs(args);
  const started = new Date();
  return withGpu((ctx) => runWith(ctx, o, started));
}

async function runWith(ctx: GpuContext, o: Options, started: Date): Promise<number> {
  const log = (s: string) => console.log(s);
  const env = environment();
  const report = ctx.report;
  const adapterLine = formatAdapterLine(ctx);
  log(`SAGE model benchmark${o.quick ? " (--quick)" : ""}`);
  log(`adapter: ${adapterLine}`);
  log(
    `node ${env.node} · ${env.cpu} × ${env.cpus} · ${env.memoryGiB} GiB · ` +
      `maxStorageBufferBindingSize ${fmtBytes(ctx.limits.maxStorageBufferBindingSize)}`,
  );
  log(`load average at start: ${env.loadAverage.join(", ")}`);
  const warnings = loadWarnings(env, " (lavapipe and PyTorch alike); the timings are unreliable");
  for (const w of warnings) log(`WARNING: ${w}`);

  let torchInfo: TorchInfo | undefined;
  if (o.peers.has("torch")) {
    torchInfo = probeTorch(o.python);
    log(
      torchInfo.available
        ? `peer: PyTorch ${torchInfo.version} on the CPU (${o.python}; default threads ${torchInfo.defaultThreads}` +
            `${o.torchThreads ? `, run with ${o.torchThreads}` : ""}; OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset for it)`
        : `peer: PyTorch CPU column SKIPPED — ${torchInfo.note}`,
    );
  }
  const jaxNote =
    "jax-js: not run — @jax-js/jax 0.1.25 has no transformer or optimizer library; a Llama in jax-js " +
    "(RoPE, GQA attention, SwiGLU, grad, AdamW, a KV cache) would be a separate implementation to write " +
    "and verify, so this suite compares with PyTorch only (the kernels suite compares kernels with jax-js)";
  log(`peer: ${jaxNote}`);

  const entries: ConfigEntry[] = [];
  for (const id of o.configs) {
    const bc = planFor(id, o);
    const c = modelConfig(bc);
    const description = describeConfig(bc, parameterCount(c));
    log(`\n[${id}] ${description}`);
    const ours = await runOurs(ctx, bc, {
      steps: bc.steps,
      recompute: bc.recompute,
      samplingReps: o.quick ? 1 : id === "100m" ? 1 : 3,
      seed: o.seed,
      log,
    });
    if (ours.memory) {
      log(
        `    peak GPU memory: training ${fmtBytes(ours.memory.trainPeakBytes)} ` +
          `(resident weights + grads + AdamW ${fmtBytes(ours.memory.residentBytes)}), ` +
          `sampling ${fmtBytes(ours.memory.samplingPeakBytes)}`,
      );
    }
    const entry: ConfigEntry = { id, description, batch: bc.batch, seqLen: bc.seqLen, ours, ratios: {} };
    if (!o.peers.has("torch")) entry.torchNote = "not selected (--peers)";
    else if (!torchInfo?.available) entry.torchNote = `skipped: ${torchInfo?.note ?? "?"}`;
    else {
      log("    PyTorch CPU peer …");
      const t = await runTorch(bc, c, {
        python: o.python,
        threads: o.torchThreads,
        quick: o.quick,
        timeoutMs: o.torchTimeoutMs,
        seed: o.seed,
      });
      entry.torch = t;
      if (t.status === "ok") {
        log(
          `    PyTorch CPU (${t.threads} thread${t.threads === 1 ? "" : "s"}, ${t.blas}): training ` +
            `${t.train?.tokensPerS.toFixed(0)} tokens/s, KV sampling ${t.sampling?.tokensPerS.toFixed(0)} tokens/s`,
        );
        if (t.parameters !== ours.parameters) {
          entry.torchNote = `parameter count differs: torch ${t.parameters}, ours ${ours.parameters}`;
          log(`    WARNING: ${entry.torchNote}`);
        }
      } else {
        entry.torchNote = `error: ${t.error}`;
        log(`    PyTorch CPU peer failed: ${t.error}`);
      }
    }
    entry.ratios = ratiosFor(ours, entry.torch?.status === "ok" ? entry.torch : undefined);
    entries.push(entry);
  }

  const targets = evaluateTargets(entries);
  log(`\nadapter: ${adapterLine}`);
  log(
    "tokens/s: training = B·T per (forward + backward + AdamW) step, median; sampling = prompts × new " +
      "tokens / wall time, greedy; ratio = ours ÷ PyTorch CPU; KV × = full recomputation time ÷ KV-cache time",
  );
  log(resultTable(entries));
  for (const e of entries) {
    const notes = [e.torchNote, e.ours.train?.note, e.ours.sampling?.note, e.ours.error, e.ours.check.note]
      .filter(Boolean)
      .map((n) => `  ${e.id}: ${n}`);
    for (const n of notes) log(n);
  }
  log("\ntargets (issue: lavapipe on a 2-core machine)");
  for (const line of targetLines(targets)) log(`  ${line}`);

  const out = resultsFile("model", o.quick, o.out, report);
  const json = {
    ...resultsHeader("model", started, o.quick, adapterLine, report, env),
    peers: {
      torch: torchInfo ?? { available: false, note: "not selected (--peers)" },
      jax: { available: false, note: jaxNote },
    },
    method: {
      correctness:
        `before timing, GPU logits of a small batch (every element) vs @sage/model's float64 referenceForward ` +
        `on the same f32 weights; tolerance ${LOGIT_RTOL}·max(1, max|ref|) (the model tests' bound); a config ` +
        "that fails is not timed. The training loss (mean next-token NLL on the same batch every step) must " +
        "also be finite and decrease from the first to the last step.",
      training:
        "forward (forwardTrain) + backward + AdamW (lr 1e-3, weight decay 0.01, clip 1) on one fixed batch; " +
        "each timed step ends with ctx.sync(); tokens/s = B·T / median step time after warm-up",
      sampling:
        "policy.generate, greedy, no stop token, random prompts; one warm-up call of 2 tokens per path; " +
        "the KV-cache path is the median of its repetitions, full recomputation (useCache: false) one run",
      memory:
        "every GPU buffer created on the device (lib/memory.ts wraps device.createBuffer and destroy) from " +
        "Policy.create to the end of training, and then during sampling: the peak of bytes alive at once " +
        "(tensors — the sum of live tensor byteLengths — plus uniform and staging buffers); exact at every " +
        "allocation rather than sampled",
      torch:
        "peers/torch_model.py: the same architecture in plain torch (embedding, RMSNorm, RoPE, GQA attention, " +
        "SwiGLU, untied head), torch.optim.AdamW (decay on matrices only) with clip_grad_norm_ 1, cross-entropy " +
        "over the same B×T batch shape; KV-cache greedy decoding of the same prompt count and lengths; " +
        "torch's default thread count unless --torch-threads",
    },
    options: {
      configs: o.configs,
      steps: o.steps ?? null,
      recompute: [...o.recompute],
      newTokens: o.newTokens,
      peers: [...o.peers],
      torchThreads: o.torchThreads ?? null,
      seed: o.seed,
    },
    targetsRequired: {
      train1mTokensPerS: TRAIN_TARGET_TOKENS_PER_S,
      kvSpeedup: KV_SPEEDUP_TARGET,
    },
    warnings,
    configs: entries.map((e) => ({ ...e, plan: planFor(e.id, o) })),
    targets,
    summary: targetSummary(targets),
  };
  writeJsonAtomic(out, json);
  log(`\nresults: ${displayPath(out)}`);

  // Wrong numbers from the project are a failure; errors, peers and missed targets are reported.
  const wrong = entries.filter((e) => e.ours.status === "wrong");
  if (wrong.length > 0) log(`the model produced WRONG logits for: ${wrong.map((e) => e.id).join(", ")}`);
  const errored = entries.filter((e) => e.ours.status === "error");
  if (errored.length > 0) log(`the model failed to run: ${errored.map((e) => e.id).join(", ")}`);
  return wrong.length > 0 || errored.length > 0 ? 1 : 0;
}

export const suite: Suite = {
  name: "model",
  description:
    "@sage/model training / sampling tokens/s and peak GPU memory at ~1M, 10M, 100M vs PyTorch CPU",
  usage: USAGE,
  run,
};
