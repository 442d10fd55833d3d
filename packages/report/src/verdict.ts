import { duration, pct, points, ratio, steps, times } from "./format.js";
import { welchDifference } from "./stats.js";
import type { MethodSummary, ReportSummary } from "./types.js";

/** How the subject compares with another method on one measure. */
export type Outcome = "beat" | "behind" | "unclear";

/** Welch interval of the difference: above zero → beat, below → behind, containing zero → unclear. */
function compare(a: number[], b: number[], confidence: number): { outcome: Outcome; text: string } {
  const d = welchDifference(a, b, confidence);
  const level = `${Math.round(confidence * 100)}% CI`;
  if (d.lo === null || d.hi === null) {
    // one seed on a side: no interval; say so, and never call it a win
    return { outcome: "unclear", text: `${points(d.diff)}, too few seeds for an interval` };
  }
  const ci = `${level} ${points(d.lo).replace(" points", "")} to ${points(d.hi)}`;
  if (d.lo > 0) return { outcome: "beat", text: `${points(d.diff)}, ${ci}` };
  if (d.hi < 0) return { outcome: "behind", text: `${points(d.diff)}, ${ci}` };
  return { outcome: "unclear", text: `${points(d.diff)}, ${ci}, which includes zero` };
}

const nonNull = (xs: (number | null)[]): number[] | null =>
  xs.every((x) => x !== null) ? (xs as number[]) : null;

/** The per-method comparison of the subject against `other` (used by `verdictSentences`). */
export function compareMethods(
  s: MethodSummary,
  o: MethodSummary,
  summary: ReportSummary,
): { outcome: Outcome; headline: string; sentence: string } {
  const conf = summary.confidence;
  const parts: string[] = [];
  const final = compare(s.perSeed.finalAccuracy, o.perSeed.finalAccuracy, conf);
  parts.push(
    `Versus ${o.method}: final pass@1 ${pct(s.finalAccuracy.mean)} vs ${pct(o.finalAccuracy.mean)} (${final.text})`,
  );
  const sh = nonNull(s.perSeed.finalHardest);
  const oh = nonNull(o.perSeed.finalHardest);
  if (sh && oh && s.finalHardest && o.finalHardest) {
    const h = compare(sh, oh, conf);
    const hv = h.outcome === "beat" ? "higher" : h.outcome === "behind" ? "lower" : "not clearly different";
    parts.push(
      `hardest stratum ${pct(s.finalHardest.mean)} vs ${pct(o.finalHardest.mean)}, ${hv} (${h.text})`,
    );
  }
  const target = pct(summary.target);
  const n = (m: MethodSummary) => m.seeds.length;
  if (s.stepsRatio && s.wallRatio && s.stepsToTarget && s.wallMsToTarget && o.method === summary.baseline) {
    parts.push(
      `${s.method} reached ${target} in ${steps(s.stepsToTarget.mean)} steps vs ${steps(o.stepsToTarget!.mean)} (${ratio(s.stepsRatio)} the steps) and in ${duration(s.wallMsToTarget.mean)} vs ${duration(o.wallMsToTarget!.mean)} of wall-clock, scoring included (${ratio(s.wallRatio)})`,
    );
  } else if (s.stepsToTarget && o.stepsToTarget && s.reachedTarget === n(s) && o.reachedTarget === n(o)) {
    parts.push(
      `${s.method} reached ${target} in ${steps(s.stepsToTarget.mean)} steps vs ${steps(o.stepsToTarget.mean)} (${times(s.stepsToTarget.mean / o.stepsToTarget.mean)}) and in ${duration(s.wallMsToTarget!.mean)} vs ${duration(o.wallMsToTarget!.mean)} of wall-clock`,
    );
  } else {
    parts.push(
      `${s.method} reached ${target} in ${s.reachedTarget} of ${n(s)} seeds, ${o.method} in ${o.reachedTarget} of ${n(o)} (within ${steps(s.finalStep)} and ${steps(o.finalStep)} steps)`,
    );
  }
  const diff = s.finalAccuracy.mean - o.finalAccuracy.mean;
  const by = `${Math.abs(diff * 100).toFixed(1)} points`;
  const headline =
    final.outcome === "beat"
      ? `${o.method} by ${by}`
      : final.outcome === "behind"
        ? `${o.method} (${by} lower)`
        : `${o.method} (${points(diff)}, ${final.text.includes("too few") ? "too few seeds to tell" : "interval includes zero"})`;
  return { outcome: final.outcome, headline, sentence: `${parts.join("; ")}.` };
}

const list = (xs: string[]): string =>
  xs.length <= 1 ? (xs[0] ?? "") : `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`;

/**
 * The verdict in plain sentences, from the numbers only: a headline ("sage beat X and Y on final
 * pass@1; did not beat Z; …"), then one sentence per other method (final pass@1, hardest stratum,
 * steps and wall-clock to the target with the ratio to the baseline), then gradient SNR and the
 * scoring overhead share. "Beat" means the Welch interval of the difference of final pass@1 lies
 * above zero; with fewer than two seeds per method nothing is called a win.
 */
export function verdictSentences(summary: ReportSummary): string[] {
  const subject = summary.methods.find((m) => m.method === summary.subject);
  if (!subject) {
    return [
      `No run of method ${summary.subject} was given, so there is no verdict; methods: ${list(summary.methods.map((m) => m.method))}.`,
    ];
  }
  const others = summary.methods.filter((m) => m !== subject);
  if (others.length === 0) return [`Only ${subject.method} was run, so there is nothing to compare it with.`];
  const results = others.map((o) => ({ o, ...compareMethods(subject, o, summary) }));
  const by = (k: Outcome) => results.filter((r) => r.outcome === k).map((r) => r.headline);
  const head: string[] = [];
  if (by("beat").length > 0) head.push(`beat ${list(by("beat"))}`);
  if (by("unclear").length > 0) head.push(`did not clearly beat ${list(by("unclear"))}`);
  if (by("behind").length > 0) head.push(`did not beat ${list(by("behind"))}`);
  const seeds = [...new Set(summary.methods.map((m) => m.seeds.length))].sort((a, b) => a - b);
  const sentences = [
    `On final pass@1 (${seeds.join(" to ")} seed${seeds.length === 1 && seeds[0] === 1 ? "" : "s"} per method${seeds[seeds.length - 1]! >= 2 ? `, ${Math.round(summary.confidence * 100)}% intervals` : ", no intervals"}), ${subject.method} ${head.join("; ")}.`,
  ];
  const base = summary.methods.find((m) => m.method === summary.baseline);
  if (!base) sentences.push(`There is no ${summary.baseline} run, so no ratios to it are reported.`);
  else if (base !== subject && !subject.stepsRatio) {
    sentences.push(
      `No steps ratio to ${base.method}: it needs every seed of both methods to reach ${pct(summary.target)} (${subject.method}: ${subject.reachedTarget} of ${subject.seeds.length}, ${base.method}: ${base.reachedTarget} of ${base.seeds.length}).`,
    );
  }
  for (const r of results) sentences.push(r.sentence);
  if (subject.snr && base && base !== subject && base.snr && base.snr.mean > 0) {
    sentences.push(
      `The gradient signal-to-noise of ${subject.method}'s batches averaged ${subject.snr.mean.toPrecision(3)} vs ${base.snr.mean.toPrecision(3)} for ${base.method} (${times(subject.snr.mean / base.snr.mean)}).`,
    );
  }
  if (subject.scoringShare) {
    sentences.push(
      `Scoring passes took ${pct(subject.scoringShare.mean)} of ${subject.method}'s wall-clock.`,
    );
  }
  return sentences;
}

/** `verdictSentences` joined into one paragraph. */
export function verdict(summary: ReportSummary): string {
  return verdictSentences(summary).join(" ");
}
