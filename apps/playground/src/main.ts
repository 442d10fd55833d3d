import { SELECTOR_NAMES, type SelectorName } from "@sage/curriculum";
import { createContext, formatAdapter, type GpuContext, reportAdapter } from "@sage/kernels-webgpu";
import { type LoadedModel, Policy, parameterCount } from "@sage/model";
import { WebGpuPolicy } from "@sage/trainer";
import type { PlaygroundApi } from "./api.js";
import { type BoxRow, boxChart, escapeHtml, histogramChart, lineChart, type Series } from "./charts.js";
import type { StepRecord } from "./dpo-loop.js";
import { PlaygroundError } from "./errors.js";
import { type PoolSnapshot, runPlayground, type SampledSolution } from "./experiment.js";
import { fetchModel } from "./model.js";
import { CHECKPOINT, DEFAULT_SETTINGS, type PlaygroundSettings, parseSettings } from "./settings.js";

const COLORS: Record<string, string> = {
  uniform: "#7a7a7a",
  sage: "#d9480f",
  "hard-mining": "#1971c2",
  "small-margin": "#2f9e44",
  selective: "#9c36b5",
  "curriculum-only": "#e67700",
  "stability-only": "#0c8599",
};
const color = (s: string) => COLORS[s] ?? "#495057";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function settingsFromQuery(): Partial<PlaygroundSettings> {
  const q = new URLSearchParams(location.search);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof PlaygroundSettings)[]) {
    const v = q.get(key);
    if (v === null) continue;
    out[key] = key === "selectors" ? v.split(",") : key === "levels" ? v.split(",").map(Number) : Number(v);
  }
  return out as Partial<PlaygroundSettings>;
}

function formSettings(): Partial<PlaygroundSettings> {
  // uniform (the baseline) first, then the others in the curriculum package's order
  const order = ["uniform", ...SELECTOR_NAMES.filter((n) => n !== "uniform")] as SelectorName[];
  const selectors = order.filter((n) => ($(`sel-${n}`) as HTMLInputElement).checked);
  return {
    selectors,
    steps: Number(($("steps") as HTMLInputElement).value),
    learningRate: Number(($("lr") as HTMLInputElement).value),
    seed: Number(($("seed") as HTMLInputElement).value),
  };
}

function buildForm(s: PlaygroundSettings): void {
  $("selectors").innerHTML = SELECTOR_NAMES.map(
    (n) =>
      `<label><input type="checkbox" id="sel-${n}" ${s.selectors.includes(n) ? "checked" : ""}/> ${escapeHtml(n)}</label>`,
  ).join(" ");
  ($("steps") as HTMLInputElement).value = String(s.steps);
  ($("lr") as HTMLInputElement).value = String(s.learningRate);
  ($("seed") as HTMLInputElement).value = String(s.seed);
}

/** Live view of one run. */
class View {
  readonly pass = new Map<string, [number, number][]>();
  readonly frontier = new Map<string, [number, number][]>();
  readonly scores = new Map<string, BoxRow[]>();
  readonly loss = new Map<string, [number, number][]>();
  readonly pools = new Map<string, PoolSnapshot>();
  before: SampledSolution[] = [];
  readonly after = new Map<string, SampledSolution[]>();

  constructor(readonly settings: PlaygroundSettings) {}

  eval(selector: SelectorName | null, step: number, value: number): void {
    const names = selector === null ? this.settings.selectors : [selector];
    for (const n of names) {
      const p = this.pass.get(n) ?? [];
      if (selector === null) p.length = 0;
      p.push([step, value]);
      this.pass.set(n, p);
    }
    this.draw();
  }

  step(selector: SelectorName, r: StepRecord): void {
    const push = (m: Map<string, [number, number][]>, v: number | undefined) => {
      if (v === undefined) return;
      const a = m.get(selector) ?? [];
      a.push([r.step, v]);
      m.set(selector, a);
    };
    push(this.frontier, r["sage/frontier"]);
    push(this.loss, r.loss);
    const q = ["min", "q25", "median", "q75", "max"].map((k) => r[`sage/score_${k}`]);
    if (q.every((v) => v !== undefined)) {
      const rows = this.scores.get(selector) ?? [];
      rows.push({ step: r.step, min: q[0]!, q25: q[1]!, median: q[2]!, q75: q[3]!, max: q[4]! });
      this.scores.set(selector, rows);
    }
    this.draw();
  }

  series(m: Map<string, [number, number][]>): Series[] {
    return [...m].map(([name, points]) => ({ name, color: color(name), points }));
  }

  draw(): void {
    $("chart-pass").innerHTML = lineChart(this.series(this.pass), {
      title: "held-out pass@1 (greedy)",
      xLabel: "DPO step",
      yMin: 0,
      yMax: 1,
    });
    $("chart-frontier").innerHTML = lineChart(this.series(this.frontier), {
      title: "curriculum frontier (stratum, 0 = easiest)",
      xLabel: "DPO step",
      yMin: 0,
      yMax: Math.max(1, this.settings.levels.length - 1),
      stepped: true,
    });
    $("chart-loss").innerHTML = lineChart(this.series(this.loss), {
      title: "loss (DPO + NLL)",
      xLabel: "DPO step",
    });
    $("chart-pool").innerHTML =
      [...this.pools]
        .map(([name, p]) =>
          histogramChart(p.scores, p.classes, {
            title: `${name}: candidate pool at step ${p.step} (${p.scores.length} pairs), by score`,
            xLabel: `${name === "sage" ? "SAGE" : name} score`,
            classNames: ["eligible", "trivial", "unstable"],
            classColors: [color(name), "#74c0fc", "#ced4da"],
          }),
        )
        .join("") ||
      "<p class='muted'>the pool's score distribution appears at a selector's first refresh</p>";
    $("chart-scores").innerHTML =
      [...this.scores]
        .map(([name, rows]) =>
          boxChart(rows, {
            title: `${name}: scores of selected pairs (min, quartiles, max)`,
            xLabel: "DPO step",
            color: color(name),
          }),
        )
        .join("") || "<p class='muted'>score distributions appear once a selector scores its pool</p>";
    this.drawSamples();
  }

  drawSamples(): void {
    if (this.before.length === 0) return;
    const names = [...this.after.keys()];
    const cell = (s: SampledSolution | undefined) =>
      s
        ? `<td class="${s.correct ? "ok" : "bad"}"><pre>${escapeHtml(s.response)}</pre>${s.correct ? "✓" : "✗"}</td>`
        : "<td></td>";
    $("samples").innerHTML = `<table><thead><tr><th>problem</th><th>before</th>${names
      .map((n) => `<th>after ${escapeHtml(n)}</th>`)
      .join("")}</tr></thead><tbody>${this.before
      .map(
        (b, i) =>
          `<tr><td><pre>${escapeHtml(b.prompt)}</pre>answer ${escapeHtml(b.answer)}</td>${cell(b)}${names
            .map((n) => cell(this.after.get(n)?.[i]))
            .join("")}</tr>`,
      )
      .join("")}</tbody></table>`;
  }
}

async function main(): Promise<void> {
  const api: PlaygroundApi = {
    state: "loading",
    error: undefined,
    adapter: undefined,
    isSoftware: undefined,
    parameters: undefined,
    result: undefined,
    sequenceLogProbs: () => Promise.reject(new PlaygroundError("RUN_INVALID", "the page is still loading")),
    run: () => Promise.reject(new PlaygroundError("RUN_INVALID", "the page is still loading")),
  };
  window.sagePlayground = api;
  const status = (t: string) => {
    $("status").textContent = t;
  };
  const initial = parseSettings(settingsFromQuery());
  buildForm(initial);
  let ctx: GpuContext;
  let model: LoadedModel;
  try {
    if (!("gpu" in navigator)) {
      throw new PlaygroundError(
        "WEBGPU_MISSING",
        "this browser has no WebGPU (navigator.gpu): use a recent Chrome/Edge, or Firefox/Safari with WebGPU enabled",
      );
    }
    status("opening the GPU…");
    ctx = await createContext({ label: "playground" });
    const report = ctx.report ?? (ctx.adapter ? reportAdapter(ctx.adapter, "browser") : undefined);
    api.adapter = report ? formatAdapter(report) : "unknown adapter";
    api.isSoftware = report?.isSoftware;
    $("adapter").textContent = `WebGPU adapter: ${api.adapter}`;
    status(`loading ${CHECKPOINT}…`);
    model = await fetchModel(`${import.meta.env.BASE_URL}${CHECKPOINT}`);
    api.parameters = parameterCount(model.config);
    $("model").textContent =
      `start policy: ${CHECKPOINT} (${api.parameters.toLocaleString("en")} parameters, ${model.config.numLayers} layers)`;
  } catch (e) {
    api.state = "error";
    api.error = (e as Error).message;
    status(`error: ${api.error}`);
    return;
  }

  api.sequenceLogProbs = async (pairs) => {
    const policy = Policy.create(ctx, model.config, model.weights);
    const gpu = new WebGpuPolicy({ policy, tokenizer: model.tokenizer! });
    try {
      const r = await gpu.sequenceLogProbs(pairs);
      return { chosen: [...r.chosen], rejected: [...r.rejected] };
    } finally {
      gpu.destroy();
      policy.destroy();
    }
  };
  api.run = async (over = {}) => {
    if (api.state === "running") throw new PlaygroundError("RUN_INVALID", "a run is in progress");
    const settings = parseSettings({ ...initial, ...formSettings(), ...over });
    api.state = "running";
    ($("run") as HTMLButtonElement).disabled = true;
    const view = new View(settings);
    view.draw();
    try {
      const result = await runPlayground(ctx, model, settings, {
        onStatus: status,
        onPairs: (b) => {
          $("pool").textContent =
            `pool: ${b.pairs.length} pairs from ${b.stats.problems} problems × ${settings.samples} samples (start pass rate ${(100 * b.stats.meanPassRate).toFixed(0)}%)`;
        },
        onEval: (sel, step, value) => view.eval(sel, step, value),
        onStep: (sel, r) => {
          view.step(sel, r);
          status(`training DPO with ${sel}: step ${r.step} of ${settings.steps}`);
        },
        onPool: (sel, p) => {
          view.pools.set(sel, p);
          view.draw();
        },
        onSamples: (sel, s) => {
          if (sel === null) view.before = s;
          else view.after.set(sel, s);
          view.drawSamples();
        },
      });
      api.result = result;
      api.state = "done";
      status(
        `done: ${result.runs.map((r) => `${r.selector} pass@1 ${r.passAt1[0]!.value.toFixed(2)} → ${r.passAt1[r.passAt1.length - 1]!.value.toFixed(2)}`).join(", ")}`,
      );
      return result;
    } catch (e) {
      api.state = "error";
      api.error = (e as Error).message;
      status(`error: ${api.error}`);
      throw e;
    } finally {
      ($("run") as HTMLButtonElement).disabled = false;
    }
  };
  $("run").addEventListener("click", () => {
    api.run().catch(() => {
      // shown in the status line
    });
  });
  api.state = "ready";
  status("ready: press Run");
  if (new URLSearchParams(location.search).get("autorun") === "1") $("run").click();
}

void main();
