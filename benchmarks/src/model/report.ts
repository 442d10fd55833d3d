/** Targets, ratios and the printed table of the model benchmark. */
import { fmtBytes, fmtNum, fmtRatio, formatTable } from "../lib/table.js";
import { sig } from "../lib/timing.js";
import type { ConfigId } from "./configs.js";
import type { OursResult } from "./ours.js";
import type { TorchResult } from "./torch.js";

export interface ConfigEntry {
  id: ConfigId;
  description: string;
  batch: number;
  seqLen: number;
  ours: OursResult;
  torch?: TorchResult;
  /** Why there is no torch figure for this config. */
  torchNote?: string;
  ratios: Ratios;
}

/** Ours ÷ PyTorch CPU (> 1: this project is faster). */
export interface Ratios {
  trainVsTorchCpu?: number;
  kvSamplingVsTorchCpu?: number;
}

export function ratiosFor(ours: OursResult, torch: TorchResult | undefined): Ratios {
  const r: Ratios = {};
  const ot = ours.train?.tokensPerS;
  const tt = torch?.train?.tokensPerS;
  if (ot && tt) r.trainVsTorchCpu = sig(ot / tt, 3);
  const ok = ours.sampling?.kvCache.tokensPerS;
  const tk = torch?.sampling?.tokensPerS;
  if (ok && tk) r.kvSamplingVsTorchCpu = sig(ok / tk, 3);
  return r;
}

export interface Target {
  id: string;
  description: string;
  required: string;
  measured?: number | string;
  pass: boolean | null;
  /** "missed by …×" when missed. */
  shortfall?: string;
  note?: string;
  /** Extra figures (e.g. the ratio to PyTorch the issue asks to report). */
  detail?: Record<string, unknown>;
}

export const TRAIN_TARGET_TOKENS_PER_S = 1500;
export const KV_SPEEDUP_TARGET = 10;
export const KV_TARGET_NEW_TOKENS = 128;

export function evaluateTargets(entries: readonly ConfigEntry[]): Target[] {
  const out: Target[] = [];
  const e1 = entries.find((e) => e.id === "1m");
  {
    const t: Target = {
      id: "train-1m",
      description: "1M config training throughput (forward + backward + AdamW)",
      required: `≥ ${TRAIN_TARGET_TOKENS_PER_S} tokens/s (≈ 0.4× PyTorch CPU)`,
      pass: null,
    };
    const tps = e1?.ours.train?.tokensPerS;
    if (!e1) t.note = "the 1M config was not run (--configs)";
    else if (tps === undefined) t.note = `no training figure (${e1.ours.error ?? e1.ours.check.note ?? "?"})`;
    else {
      t.measured = tps;
      t.pass = tps >= TRAIN_TARGET_TOKENS_PER_S;
      if (!t.pass) t.shortfall = `missed by ${fmtRatio(TRAIN_TARGET_TOKENS_PER_S / tps)}`;
      t.detail = {
        torchCpuTokensPerS: e1.torch?.train?.tokensPerS ?? null,
        ratioVsTorchCpu: e1.ratios.trainVsTorchCpu ?? null,
        ...(e1.torchNote ? { torchNote: e1.torchNote } : {}),
      };
    }
    out.push(t);
  }
  {
    const t: Target = {
      id: "kv-speedup",
      description: `KV-cache decoding vs full recomputation at ${KV_TARGET_NEW_TOKENS} new tokens (worst config timed)`,
      required: `≥ ${KV_SPEEDUP_TARGET}×`,
      pass: null,
    };
    const timed = entries.filter(
      (e) =>
        e.ours.sampling?.kvSpeedup !== undefined && e.ours.sampling.plan.newTokens === KV_TARGET_NEW_TOKENS,
    );
    if (timed.length === 0) t.note = "full recomputation was not timed at 128 new tokens for any config";
    else {
      const per = Object.fromEntries(timed.map((e) => [e.id, e.ours.sampling?.kvSpeedup]));
      const worst = Math.min(...timed.map((e) => e.ours.sampling?.kvSpeedup as number));
      t.measured = worst;
      t.pass = worst >= KV_SPEEDUP_TARGET;
      if (!t.pass) t.shortfall = `missed by ${fmtRatio(KV_SPEEDUP_TARGET / worst)}`;
      t.detail = { perConfig: per };
    }
    out.push(t);
  }
  {
    const t: Target = {
      id: "100m-runs",
      description: "100M config trains (≥ 1 step, finite loss) within the device's binding limits",
      required: "runs",
      pass: null,
    };
    const e = entries.find((x) => x.id === "100m");
    if (!e) t.note = "the 100M config was not run (--configs)";
    else {
      const tr = e.ours.train;
      t.pass = e.ours.status === "ok" && tr !== undefined && tr.losses.every(Number.isFinite);
      t.measured = tr ? `${tr.tokensPerS} tokens/s` : (e.ours.error ?? "did not run");
      if (!t.pass) t.note = e.ours.error ?? e.ours.check.note ?? "no finite training loss";
    }
    out.push(t);
  }
  return out;
}

export function targetLines(targets: readonly Target[]): string[] {
  return targets.map((t) => {
    const verdict = t.pass === null ? "NOT EVALUATED" : t.pass ? "PASS" : "MISS";
    const m =
      t.measured === undefined
        ? ""
        : ` — measured ${typeof t.measured === "number" ? fmtNum(t.measured) : t.measured}`;
    const extra = [t.shortfall, t.note].filter(Boolean).join("; ");
    const ratio = t.detail?.ratioVsTorchCpu;
    const r = typeof ratio === "number" ? ` (${fmtRatio(ratio)} PyTorch CPU)` : "";
    return `${verdict.padEnd(13)} ${t.description}: ${t.required}${m}${r}${extra ? ` (${extra})` : ""}`;
  });
}

function tps(x: number | undefined): string {
  return x === undefined ? "-" : fmtNum(x);
}

export function resultTable(entries: readonly ConfigEntry[]): string {
  const header = [
    "config",
    "params",
    "B×T",
    "logits",
    "train tok/s",
    "torch",
    "ratio",
    "KV tok/s",
    "full tok/s",
    "KV ×",
    "torch KV",
    "ratio",
    "peak GPU",
  ];
  const rows = entries.map((e) => {
    const o = e.ours;
    const status = o.status === "error" ? "ERROR" : o.check.ok ? "ok" : "WRONG";
    return [
      e.id,
      `${(o.parameters / 1e6).toFixed(2)}M`,
      `${e.batch}×${e.seqLen}`,
      status,
      tps(o.train?.tokensPerS),
      tps(e.torch?.train?.tokensPerS),
      fmtRatio(e.ratios.trainVsTorchCpu),
      tps(o.sampling?.kvCache.tokensPerS),
      tps(o.sampling?.fullRecompute?.tokensPerS),
      fmtRatio(o.sampling?.kvSpeedup),
      tps(e.torch?.sampling?.tokensPerS),
      fmtRatio(e.ratios.kvSamplingVsTorchCpu),
      o.memory ? fmtBytes(Math.max(o.memory.trainPeakBytes, o.memory.samplingPeakBytes)) : "-",
    ];
  });
  return formatTable(header, rows);
}
