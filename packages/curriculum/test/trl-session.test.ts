import { Rng } from "@sage/stability";
import { describe, expect, it } from "vitest";
import {
  CurriculumError,
  type DatasetPair,
  type ScoringPlan,
  SelectionSession,
  selectPairs,
} from "../src/index.js";

/** Difficulty inputs only (what a TRL pairs file gives): no statistics. */
function metaDataset(n: number, seed: number): DatasetPair[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, (_, i) => ({ id: `p${i}`, level: 1 + r.int(5) }));
}

/** A stand-in scorer: statistics for the planned pairs only (seeded by id and refresh). */
function scoresFor(plan: ScoringPlan, seed: number): Map<string, DatasetPair> {
  const out = new Map<string, DatasetPair>();
  plan.ids.forEach((id, j) => {
    const r = new Rng(seed * 1_000_003 + plan.refresh * 7919 + plan.pairKeys[j]!);
    const pc = -40 * r.next();
    const pr = -40 * r.next();
    const e = pc / 20 - pr / 20;
    out.set(id, {
      id,
      policyChosen: pc,
      policyRejected: pr,
      referenceChosen: pc + r.normal(),
      referenceRejected: pr + r.normal(),
      chosenTokens: 20,
      rejectedTokens: 20,
      perturbed: Array.from(
        { length: plan.perturbation?.kind === "token-dropout" ? plan.perturbation.k : 0 },
        () => e + 0.1 * r.normal(),
      ),
    });
  });
  return out;
}

function lookupFrom(data: readonly DatasetPair[], scores: Map<string, DatasetPair>) {
  return (i: number) => {
    const s = scores.get(data[i]!.id);
    return s === undefined ? undefined : { ...data[i]!, ...s };
  };
}

describe("SelectionSession: plan → scores → batches", () => {
  it("plans the P candidates, is idempotent, and serves one refresh from the planned scores only", () => {
    const data = metaDataset(2000, 1);
    const cfg = { batchSize: 8, refreshEvery: 5, seed: 3, probeSize: 0 };
    const s = SelectionSession.open(data, null, cfg);
    let plan = s.plan()!;
    expect(plan).not.toBeNull();
    // a probe round (competence: "probe") comes first if the config has one; answer it too
    const served: ScoringPlan[] = [];
    while (plan.kind !== "pool") {
      served.push(plan);
      const r = s.next(5, lookupFrom(data, scoresFor(plan, 1)), 1);
      expect(r.batches).toEqual([]);
      plan = r.pending!;
    }
    expect(plan.ids.length).toBe(2 * 8 * 5);
    expect(plan.perturbation).toMatchObject({ kind: "token-dropout", k: 4, rho: 0.1 });
    expect(plan.ids).toEqual(plan.pairKeys.map((k) => data[k]!.id));
    // asking again (also from the saved state) gives the same plan
    expect(s.plan()).toEqual(plan);
    const saved = JSON.parse(JSON.stringify(s.state()));
    expect(SelectionSession.open(data, saved, cfg).plan()).toEqual(plan);
    const scores = scoresFor(plan, 1);
    const r = s.next(1000, lookupFrom(data, scores), 1);
    expect(r.startStep).toBe(0);
    expect(r.batches.length).toBe(5);
    const all = r.batches.flat();
    expect(new Set(all).size).toBe(all.length);
    for (const id of all) expect(scores.has(id)).toBe(true);
    // it stopped at the next refresh and says which pairs to score for it
    expect(r.pending).not.toBeNull();
    expect(r.pending!.step).toBe(5);
    expect(r.pending!.refresh).toBe(plan.refresh + 1);
    expect(s.plan()).toEqual(r.pending);
    // the same as selectPairs given every pair's statistics (only the planned ones are read)
    const full = data.map((p) => ({ ...p, ...scores.get(p.id) }));
    if (served.length === 0) expect(selectPairs(full, null, cfg).batches).toEqual(r.batches);
  });

  it("never repeats a pair within a call, also when the batch size exceeds the eligible pairs", () => {
    for (const n of [6, 12, 40]) {
      const data = metaDataset(n, 2);
      const s = SelectionSession.open(data, null, { batchSize: 32, refreshEvery: 5, seed: 1 });
      for (let call = 0; call < 4; call++) {
        let r = s.next(5, () => undefined, 1);
        // answer whatever is pending (a probe round first if any), then take the batches
        let guard = 0;
        while (r.batches.length === 0 && r.pending !== null && guard++ < 3) {
          r = s.next(5, lookupFrom(data, scoresFor(r.pending, call + 1)), 1);
        }
        expect(r.batches.length).toBeGreaterThan(0);
        const all = r.batches.flat();
        expect(all.length).toBeLessThanOrEqual(n);
        expect(new Set(all).size, `n = ${n}, call ${call}: ${all.join(",")}`).toBe(all.length);
      }
    }
  });

  it("holds nothing out by default: every pair can be planned and trained", () => {
    // one stratum of 12 pairs, B = 32: with held-out probes (competence: "probe") half of them
    // would never be planned; by default every call plans and trains all 12
    const data = metaDataset(12, 5);
    const s = SelectionSession.open(data, null, { nStrata: 1, batchSize: 32 });
    const held = SelectionSession.open(data, null, { nStrata: 1, batchSize: 32, competence: "probe" });
    const seen = new Set<string>();
    for (let call = 0; call < 3; call++) {
      const plan = s.plan()!;
      expect(plan.kind).toBe("pool");
      expect([...plan.ids].sort()).toEqual(data.map((p) => p.id).sort());
      const r = s.next(25, lookupFrom(data, scoresFor(plan, call)), 1);
      expect(r.batches).toHaveLength(1);
      for (const id of r.batches[0]!) seen.add(id);
    }
    expect(seen.size).toBe(12);
    // the contrast: probes are held out of the plan
    let plan = held.plan()!;
    expect(plan.kind).toBe("probe");
    plan = held.next(25, lookupFrom(data, scoresFor(plan, 0)), 1).pending!;
    expect(plan.kind).toBe("pool");
    expect(plan.ids.length).toBe(6);
  });

  it("continues mid-refresh from a JSON state without new scores (training in chunks)", () => {
    const data = metaDataset(500, 6);
    const cfg = { batchSize: 4, refreshEvery: 6, seed: 8 };
    const whole = SelectionSession.open(data, null, cfg);
    const plan = whole.plan()!;
    const lookup = lookupFrom(data, scoresFor(plan, 1));
    const once = whole.next(6, lookup, 1);
    const a = SelectionSession.open(data, null, cfg);
    const first = a.next(2, lookup, 1);
    const b = SelectionSession.open(data, JSON.parse(JSON.stringify(a.state())), cfg);
    expect(b.plan()).toBeNull(); // the refresh is under way: nothing to score
    const rest = b.next(4, () => undefined, 1);
    expect([...first.batches, ...rest.batches]).toEqual(once.batches);
    expect(rest.startStep).toBe(2);
    expect(rest.pending).toEqual(once.pending);
  });

  it("stops when a refresh has no scores, and names the missing ids when only some are given", () => {
    const data = metaDataset(300, 3);
    const s = SelectionSession.open(data, null, {
      batchSize: 4,
      refreshEvery: 3,
      perturbation: "none",
      probeSize: 0,
    });
    const none = s.next(3, () => undefined);
    expect(none.batches).toEqual([]);
    expect(none.pending).not.toBeNull();
    const plan = none.pending!;
    const partial = scoresFor(plan, 1);
    partial.delete(plan.ids[0]!);
    partial.delete(plan.ids[7]!);
    expect(() => s.next(3, lookupFrom(data, partial))).toThrow(
      new RegExp(`statistics are missing for 2 of them: "${plan.ids[0]}", "${plan.ids[7]}"`),
    );
    const err = (() => {
      try {
        s.next(3, lookupFrom(data, partial));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CurriculumError);
    expect((err as CurriculumError).code).toBe("STATS_MISSING");
  });

  it("refuses a step budget that is not a positive integer", () => {
    const s = SelectionSession.open(metaDataset(20, 4), null, { selector: "uniform", batchSize: 4 });
    expect(() => s.next(0, () => undefined)).toThrow(/steps: expected an integer ≥ 1, received 0/);
    expect(s.next(2, () => undefined).batches.map((b) => b.length)).toEqual([4, 4]);
    expect(s.plan()).toBeNull();
  });
});
