import type { ArmEndpoints, ConvergenceEndpoints, TargetRatio } from "./endpoints.js";
import { pct, points, ratio, times } from "./format.js";
import { escapeHtml, htmlTable } from "./html.js";
import { mean } from "./stats.js";

/*
 * The pre-registered endpoints of a convergence study (`convergenceEndpoints`), as words and as
 * HTML tables: what the report leads with. The summary's verdict (final pass@1, Welch intervals)
 * stays beside it as a secondary, descriptive reading.
 */

const level = (e: ConvergenceEndpoints) => `${Math.round(e.confidence * 100)}% CI`;

/** A paired difference in pass@1 units, with its interval when it has one. */
type Diff = { diff: number; lo: number | null; hi: number | null };

/** `−0.018` → `−1.8` (points, signed, no unit). */
const signed = (x: number) => points(x).replace(" points", "");

/** `−1.8 points (95% CI −2.6 to −1.0)`, or the difference alone when it has no interval. */
function diffText(d: Diff, ci: string): string {
  if (d.lo === null || d.hi === null) return `${points(d.diff)} (no interval: too few seeds)`;
  const span = `${ci} ${signed(d.lo)} to ${signed(d.hi)}`;
  return `${points(d.diff)} (${span}${d.lo <= 0 && d.hi >= 0 ? ", which includes zero" : ""})`;
}

/** `−1.8 [−2.6, −1.0]` for a table cell, `—` without a difference. */
function diffCell(d: Diff | null | undefined): string {
  if (!d) return "—";
  return d.lo !== null && d.hi !== null
    ? `${signed(d.diff)} [${signed(d.lo)}, ${signed(d.hi)}]`
    : signed(d.diff);
}

/** A target ratio with its interval (`0.73× [0.66×, 0.77×]`); call only when `r.ratio` is set. */
const ratioValue = (r: TargetRatio) => ratio({ value: r.ratio!, lo: r.lo, hi: r.hi });

const pText = (p: number | null) => (p === null ? "n/a" : p < 0.001 ? "< 0.001" : p.toFixed(3));

/** A target ratio in words: the ratio with its interval, or why there is none. */
function ratioText(r: TargetRatio, subject: string, baseline: string): string {
  if (r.ratio !== null) return `${ratioValue(r)} ${baseline}'s`;
  if (r.reason === "baseline-at-start") return `no ratio: ${baseline} was at the target at step 0`;
  return `no ratio: censored (${subject} reached it in ${r.reached} of ${r.n} seeds, ${baseline} in ${r.baselineReached} of ${r.n})`;
}

/** The noise arm's noise in words: `20% of the labels swapped`, or `label noise` without a share. */
const noiseWords = (noise: Record<string, unknown>) =>
  typeof noise.share === "number" ? `${Math.round(noise.share * 100)}% of the labels swapped` : "label noise";

/** One arm's endpoints for `subject`, in words (empty when the subject is not in the arm). */
function armSentences(arm: ArmEndpoints, subject: string, ci: string, alpha: number): string[] {
  const auc = arm.endpoints.auc[subject];
  if (!auc) return [];
  const b = arm.baseline;
  const out: string[] = [];
  const significant = auc.pHolm !== null && auc.pHolm < alpha;
  const reading = significant
    ? auc.diff < 0
      ? `${subject} learns more slowly than ${b}`
      : `${subject} learns faster than ${b}`
    : `${subject} is not distinguishable from ${b}`;
  const holm =
    auc.pHolm === null
      ? "no Holm p (too few seeds)"
      : auc.pHolm < 0.001
        ? "Holm p < 0.001"
        : `Holm p = ${pText(auc.pHolm)}`;
  const mde =
    arm.power.mdeAuc === null
      ? "too few seeds for a minimum detectable difference"
      : `the smallest difference this design detects at ${Math.round(arm.power.power * 100)}% power is ${(100 * arm.power.mdeAuc).toFixed(1)} points`;
  out.push(
    `Area under the pass@1-vs-steps curve, ${subject} − ${b}: ${diffText(auc, ci)}, ${holm} over ${arm.methods.length} method(s) — ${reading}; ${mde}.`,
  );
  const steps = arm.endpoints.stepsRatio[subject];
  const wall = arm.endpoints.wallclockRatio[subject];
  if (steps && wall) {
    out.push(
      `Steps to the ${pct(arm.target)} target: ${ratioText(steps, subject, b)}; wall-clock to it, scoring included: ${ratioText(wall, subject, b)}.`,
    );
  }
  const hard = arm.endpoints.hardest[subject];
  if (hard) {
    out.push(
      `Hardest stratum at step ${arm.steps}: ${pct(hard.mean)} vs ${pct(hard.baselineMean)}, ${diffText(hard, ci)}.`,
    );
  }
  const snr = arm.endpoints.snr[subject];
  if (snr && snr.ratio !== null) out.push(`Gradient SNR: ${times(snr.ratio)} ${b}'s.`);
  const share = arm.endpoints.scoringShare[subject];
  if (share && share.mean > 0) out.push(`Scoring passes: ${pct(share.mean)} of ${subject}'s step time.`);
  return out;
}

/**
 * The pre-registered endpoints in plain words for `subject` (default `sage`), one paragraph per arm
 * (separated by a blank line): the primary endpoint
 * (AUC difference to the baseline, Holm-adjusted) read against the design's minimum detectable
 * difference, then steps and wall-clock to target, the hardest stratum, SNR and scoring share; the
 * label-noise arm the same way when it was run.
 */
export function endpointsVerdict(e: ConvergenceEndpoints, subject = "sage"): string {
  const ci = level(e);
  const alpha = e.power.alpha;
  const main = armSentences(e, subject, ci, alpha);
  const parts = [
    main.length > 0
      ? `Pre-registered endpoints (${e.seeds.length} paired seeds, ${e.candidates} candidate pairs, ${e.steps} steps): ${main.join(" ")}`
      : `Pre-registered endpoints: ${subject} is not among the compared methods (${e.methods.join(", ")}).`,
  ];
  if (e.noiseArm) {
    const noisy = armSentences(e.noiseArm, subject, ci, alpha);
    if (noisy.length > 0)
      parts.push(
        `Label-noise arm (${noiseWords(e.noiseArm.noise)}, its own Holm family): ${noisy.join(" ")}`,
      );
  }
  return parts.join("\n\n");
}

const cell = escapeHtml;

function ratioCell(r: TargetRatio | undefined): string {
  if (!r) return "—";
  return r.ratio === null ? (r.reason ?? "—") : ratioValue(r);
}

/** One arm's endpoints as an HTML table: the baseline's row, then one row per compared method. */
export function armEndpointsTable(arm: ArmEndpoints, confidence: number): string {
  const ci = `${Math.round(confidence * 100)}% CI`;
  const b = arm.baseline;
  const first = arm.methods.map((m) => arm.endpoints.stepsRatio[m]).find((r) => r !== undefined);
  const head = [
    "method",
    "AUC",
    `AUC − ${b}, points [${ci}]`,
    "p (Holm)",
    `seeds reaching ${pct(arm.target)}`,
    `steps ÷ ${b}`,
    `wall-clock ÷ ${b}`,
    `hardest stratum − ${b}, points [${ci}]`,
    `gradient SNR ÷ ${b}`,
    "scoring share",
  ];
  const aucOf = (m: string) => {
    const xs = arm.perSeed[m]?.auc;
    return xs && xs.length > 0 ? pct(mean(xs)) : "—";
  };
  const shareOf = (m: string) => {
    const s = arm.endpoints.scoringShare[m];
    return s ? pct(s.mean) : "—";
  };
  const baseHardest = arm.methods.map((m) => arm.endpoints.hardest[m]).find((h) => h);
  const rows = [
    [
      cell(b),
      cell(aucOf(b)),
      cell("(baseline)"),
      cell(""),
      cell(first ? `${first.baselineReached} / ${first.n}` : "—"),
      cell("1"),
      cell("1"),
      cell(baseHardest ? `(${b}: ${pct(baseHardest.baselineMean)})` : "—"),
      cell(arm.methods.some((m) => arm.endpoints.snr[m]?.ratio != null) ? "1" : "—"),
      cell(shareOf(b)),
    ],
    ...arm.methods.map((m) => {
      const a = arm.endpoints.auc[m];
      const h = arm.endpoints.hardest[m];
      const snr = arm.endpoints.snr[m];
      const r = arm.endpoints.stepsRatio[m];
      return [
        cell(m),
        cell(aucOf(m)),
        cell(diffCell(a)),
        cell(a ? pText(a.pHolm) : "—"),
        cell(r ? `${r.reached} / ${r.n}` : "—"),
        cell(ratioCell(r)),
        cell(ratioCell(arm.endpoints.wallclockRatio[m])),
        cell(diffCell(h)),
        cell(snr && snr.ratio !== null ? times(snr.ratio) : "—"),
        cell(shareOf(m)),
      ];
    }),
  ];
  return htmlTable(head, rows);
}

/** The endpoints section of the page: the reported arm's table, the power, the noise arm's table. */
export function endpointsHtml(e: ConvergenceEndpoints): string {
  const power = (arm: ArmEndpoints) =>
    arm.power.mdeAuc === null
      ? "Too few seeds for a minimum detectable difference."
      : `Minimum detectable AUC difference: ${(100 * arm.power.mdeAuc).toFixed(1)} points (${Math.round(arm.power.power * 100)}% power, α = ${arm.power.alpha}, n = ${arm.power.n}, pooled SD of the paired differences ${(100 * arm.power.sdPooled).toFixed(2)} points). ${arm.baseline} gained ${arm.uniformGain.toFixed(1)} points of pass@1 over the run.`;
  const legend =
    "AUC: mean height of the pass@1-vs-steps curve. Differences are paired by seed (t interval); p is Holm-adjusted over the arm's methods. Ratios: mean over seeds of steps (or wall-clock) to the target, method ÷ baseline, paired bootstrap; 'censored' means some seed never reached the target, so no ratio is given.";
  const parts = [
    `<p>${escapeHtml(legend)}</p>`,
    `<h3>Main comparison (${e.seeds.length} seeds)</h3>`,
    armEndpointsTable(e, e.confidence),
    `<p>${escapeHtml(power(e))}</p>`,
  ];
  if (e.noiseArm) {
    const { flipped } = e.noiseArm.noise;
    const what = `${noiseWords(e.noiseArm.noise)}${typeof flipped === "number" ? `, ${flipped} pairs` : ""}`;
    parts.push(
      `<h3>Label-noise arm (${escapeHtml(what)}; its own Holm family)</h3>`,
      armEndpointsTable(e.noiseArm, e.confidence),
      `<p>${escapeHtml(power(e.noiseArm))}</p>`,
    );
  }
  return parts.join("\n");
}
