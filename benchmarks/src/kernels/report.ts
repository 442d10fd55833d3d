/** Targets from the issue, their evaluation, and the console tables. */
import { fmtBytes, fmtMs, fmtNum, fmtRatio, formatTable } from "../lib/table.js";
import type { Cell, LogprobCase, MatmulCase, MemoryCheck } from "./cases.js";
import { IMPL_LABELS, type ImplId } from "./impl.js";

export interface TargetResult {
  id: string;
  description: string;
  /** Required speed-up of the project's kernel over the peer (×). */
  required?: number;
  /** Worst ratio over the cases it applies to. */
  measured?: number;
  /** null when it could not be evaluated (see note). */
  pass: boolean | null;
  perCase?: { case: string; ratio: number }[];
  shortfall?: string;
  note?: string;
}

function speedup(results: Partial<Record<ImplId, Cell>>, peer: ImplId): number | undefined {
  const s = results.sage;
  const p = results[peer];
  if (s?.status !== "ok" || p?.status !== "ok" || !s.medianMs || !p.medianMs) return undefined;
  return p.medianMs / s.medianMs;
}

function why(results: Partial<Record<ImplId, Cell>>, peer: ImplId): string {
  for (const id of ["sage", peer] as const) {
    const c = results[id];
    if (!c) return `${IMPL_LABELS[id].logprob} not run`;
    if (c.status !== "ok") return `${IMPL_LABELS[id].logprob}: ${c.status}${c.note ? ` (${c.note})` : ""}`;
  }
  return "not measured";
}

function ratioTarget(
  id: string,
  description: string,
  required: number,
  cases: { name: string; results: Partial<Record<ImplId, Cell>> }[],
  peer: ImplId,
): TargetResult {
  if (cases.length === 0)
    return { id, description, required, pass: null, note: "no case of this kind was run" };
  const perCase: { case: string; ratio: number }[] = [];
  for (const c of cases) {
    const r = speedup(c.results, peer);
    if (r === undefined)
      return { id, description, required, pass: null, note: `${c.name}: ${why(c.results, peer)}` };
    perCase.push({ case: c.name, ratio: Number(r.toPrecision(4)) });
  }
  const worst = perCase.reduce((a, b) => (b.ratio < a.ratio ? b : a));
  const pass = worst.ratio >= required;
  const t: TargetResult = { id, description, required, measured: worst.ratio, pass, perCase };
  if (!pass) {
    const factor = required / worst.ratio;
    t.shortfall =
      `missed by ${factor.toFixed(2)}× at ${worst.case}: ${worst.ratio.toFixed(2)}× measured, ${required}× required ` +
      `(the project's kernel would need ${((1 - 1 / factor) * 100).toFixed(0)}% less time)`;
  }
  return t;
}

export function evaluateTargets(
  logprob: readonly LogprobCase[],
  matmul: readonly MatmulCase[],
  memory: MemoryCheck | undefined,
  memoryNote: string,
): TargetResult[] {
  const lp = logprob.map((c) => ({ name: `${c.N}×${c.V}`, results: c.results }));
  const mm = matmul.filter((c) => c.n === 1024).map((c) => ({ name: `n = ${c.n}`, results: c.results }));
  const mem: TargetResult = memory
    ? {
        id: "logprob-peak-memory",
        description: "fused log-prob peak memory ≤ N·V·4 bytes + O(N) (64 B/row + 1 MiB)",
        pass: memory.pass && memory.check.ok,
        note:
          `${memory.N}×${memory.V}: the op allocated ${fmtBytes(memory.opPeakBytes)} at peak ` +
          `(${(memory.opPeakBytes / memory.N).toFixed(1)} B/row, ${memory.opBuffers} buffers) on top of ` +
          `${fmtBytes(memory.logitsBytes)} of logits; allowance ${fmtBytes(memory.allowanceBytes)}` +
          (memory.check.ok ? "" : "; its output on the whole tensor was WRONG"),
      }
    : {
        id: "logprob-peak-memory",
        description: "fused log-prob peak memory ≤ N·V·4 bytes + O(N)",
        pass: null,
        note: memoryNote,
      };
  return [
    ratioTarget(
      "logprob-vs-jax-webgpu",
      "fused log-prob ≥ 5× jax-js WebGPU (every case)",
      5,
      lp,
      "jax-webgpu",
    ),
    ratioTarget("logprob-vs-jax-wasm", "fused log-prob ≥ 3× jax-js Wasm (every case)", 3, lp, "jax-wasm"),
    mem,
    ratioTarget("matmul-1024-vs-jax-webgpu", "matmul n = 1024 ≥ 4× jax-js WebGPU", 4, mm, "jax-webgpu"),
    ratioTarget("matmul-1024-vs-jax-wasm", "matmul n = 1024 ≥ 1× jax-js Wasm", 1, mm, "jax-wasm"),
  ];
}

function cellText(c: Cell | undefined, unit: string): string {
  if (!c) return "-";
  if (c.status !== "ok") return c.status.toUpperCase();
  return `${fmtMs(c.medianMs ?? Number.NaN)}  ${fmtNum(c.throughput)} ${unit}`;
}

export function resultTable(
  kind: "logprob" | "matmul",
  impls: readonly ImplId[],
  cases: readonly { name: string; results: Partial<Record<ImplId, Cell>> }[],
): string {
  const unit = kind === "logprob" ? "GB/s" : "GFLOP/s";
  const peers = impls.filter((i) => i !== "sage");
  const header = [
    kind === "logprob" ? "N×V" : "n",
    ...impls.map((i) => IMPL_LABELS[i][kind]),
    ...(impls.includes("sage") ? peers.map((p) => `vs ${IMPL_LABELS[p][kind]}`) : []),
  ];
  const rows = cases.map((c) => [
    c.name,
    ...impls.map((i) => cellText(c.results[i], unit)),
    ...(impls.includes("sage") ? peers.map((p) => fmtRatio(speedup(c.results, p))) : []),
  ]);
  return formatTable(header, rows);
}

/** Notes for cells that are not timings (wrong, error, skipped). */
export function cellNotes(
  kind: "logprob" | "matmul",
  cases: readonly { name: string; results: Partial<Record<ImplId, Cell>> }[],
): string[] {
  const out: string[] = [];
  for (const c of cases) {
    for (const [id, cell] of Object.entries(c.results) as [ImplId, Cell][]) {
      if (cell.status !== "ok" && cell.note)
        out.push(`  ${c.name} ${IMPL_LABELS[id][kind]}: ${cell.status} — ${cell.note}`);
    }
  }
  return out;
}

export function targetLines(targets: readonly TargetResult[]): string[] {
  return targets.map((t) => {
    const tag = t.pass === null ? "[ -- ]" : t.pass ? "[PASS]" : "[MISS]";
    const measured = t.measured !== undefined ? `: ${t.measured.toFixed(2)}×` : "";
    const detail =
      t.shortfall ?? t.note ?? (t.perCase ? t.perCase.map((p) => `${p.case} ${p.ratio}×`).join(", ") : "");
    return `${tag} ${t.description}${measured}${detail ? ` — ${detail}` : ""}`;
  });
}
