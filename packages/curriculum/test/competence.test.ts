import { type PairStatsBatch, resolveStabilityConfig } from "@sage/stability";
import { describe, expect, it } from "vitest";
import {
  CurriculumError,
  createSelector,
  resolveCurriculumConfig,
  type ScoringRequest,
  type SelectorState,
  selectorFromState,
} from "../src/index.js";
import { drive, fakeDataset, fakeStats } from "./fake.js";

type Strat = { strataInfo: { train: Int32Array[]; probes: Int32Array[] } | null };

/** Stats whose implicit margin (β = 0.1) is exactly `marginOf(id)`; policy preference 0. */
function statsWithMargins(req: ScoringRequest, marginOf: (id: number) => number): PairStatsBatch {
  const n = req.pairIds.length;
  const col = (v: number) => new Float64Array(n).fill(v);
  const referenceChosen = Float64Array.from(req.pairIds, (id) => -10 - 10 * marginOf(id));
  return {
    ids: req.pairIds.slice(),
    policyChosen: col(-10),
    policyRejected: col(-10),
    referenceChosen,
    referenceRejected: col(-10),
    chosenTokens: col(5),
    rejectedTokens: col(5),
  };
}

describe("competence from candidates (spec v2 default)", () => {
  const dataset = fakeDataset(1000, 1);

  it("is the default; no probe request: competence comes from the pool's own scoring pass", () => {
    expect(resolveCurriculumConfig().competence).toBe("candidates");
    const sel = createSelector("sage", { dataset, batchSize: 4, refreshEvery: 5, seed: 2 });
    // every implicit margin +1 > 0 (σ(−1) = 0.27: not trivial) → competence 1 → advance each refresh
    const { events, requests } = drive(sel, 20, { margin: 1 });
    expect(requests.every((r) => r.kind === "pool" && r.probeIds.length === 0)).toBe(true);
    const refreshes = events.filter((e) => e.type === "refresh");
    expect(refreshes.map((e) => e.frontier)).toEqual([1, 2, 3, 3]);
    expect(refreshes.map((e) => e.advanced)).toEqual(["competence", "competence", "competence", null]);
    // the stratum the rule looked at was measured (1); the newly unlocked one is not yet (null)
    expect(refreshes[0]!.competence).toEqual([1, null, null, null]);
    // a newly unlocked stratum enters the pool at the next refresh: pool 2 (frontier 1 at draw
    // time) is half stratum 1, half stratum 0
    const info = (sel as unknown as Strat).strataInfo!;
    const pool2 = requests[1]!.pairIds;
    expect(pool2.filter((id) => info.train[1]!.includes(id)).length).toBe(20);
    expect(pool2.filter((id) => info.train[0]!.includes(id)).length).toBe(20);
    // one pass per pooled pair, nothing else
    expect(requests.map((r) => r.forwardPasses)).toEqual(requests.map((r) => r.pairIds.length));
    expect(refreshes.at(-1)!.forwardPassesTotal).toBe(requests.reduce((s, r) => s + r.pairIds.length, 0));
  });

  it("excludes pairs already trained on; uses all scored candidates once every one was trained on", () => {
    // one stratum of 20 pairs, the whole stratum in every pool, uniform order inside it
    const data = fakeDataset(20, 5);
    const sel = createSelector("curriculum-only", {
      dataset: data,
      nStrata: 1,
      poolSize: 20,
      batchSize: 5,
      refreshEvery: 2,
      seed: 3,
    });
    const trained = new Set<number>();
    // trained pairs have margin +1, untrained −1: counting trained pairs would raise competence
    const margin = (id: number) => (trained.has(id) ? 1 : -1);
    const seen: Array<{ trained: number; competence: number | null }> = [];
    for (let step = 0; step < 40; step++) {
      while (sel.needsRefresh(step)) {
        const req = sel.requestScoring();
        expect(req.kind).toBe("pool");
        sel.refresh(statsWithMargins(req, margin));
        const ev = sel.metrics().find((e) => e.type === "refresh")!;
        seen.push({ trained: trained.size, competence: ev.type === "refresh" ? ev.competence[0]! : null });
      }
      for (const id of sel.nextBatch(step)) trained.add(id);
    }
    // some trained, some not: only the untrained (all −1) count → 0, not trained/20
    const partial = seen.filter((s) => s.trained > 0 && s.trained < 20);
    expect(partial.length).toBeGreaterThan(0);
    for (const s of partial) expect(s.competence).toBe(0);
    // every candidate trained on: all of them count (all +1) → 1
    const full = seen.filter((s) => s.trained === 20);
    expect(full.length).toBeGreaterThan(0);
    for (const s of full) expect(s.competence).toBe(1);
    expect(seen[0]).toEqual({ trained: 0, competence: 0 });
  });

  it("withholds no pair from training: every pair can be selected (probe mode holds probes out)", () => {
    const data = fakeDataset(60, 7);
    const cfg = { dataset: data, nStrata: 2, batchSize: 4, refreshEvery: 5, maxRefreshes: 1, seed: 4 };
    const sel = createSelector("sage", cfg);
    const info = (sel as unknown as Strat).strataInfo!;
    expect(info.probes.every((p) => p.length === 0)).toBe(true);
    expect(info.train.reduce((s, t) => s + t.length, 0)).toBe(60);
    const { batches } = drive(sel, 300);
    expect(new Set(batches.flat()).size).toBe(60);
    // competence "probe" (v1) keeps min(probeSize, half a stratum) = 8 per stratum out of training
    const probe = createSelector("sage", { ...cfg, competence: "probe", probeSize: 8 });
    const held = (probe as unknown as Strat).strataInfo!.probes.flatMap((p) => [...p]);
    expect(held.length).toBe(16);
    const used = new Set(drive(probe, 300).batches.flat());
    expect(used.size).toBe(44);
    for (const id of held) expect(used.has(id)).toBe(false);
  });

  it("curriculum-only asks for one scoring pass per pooled pair (to measure competence), no perturbation", () => {
    const sel = createSelector("curriculum-only", { dataset, batchSize: 4, refreshEvery: 5 });
    expect(sel.needsRefresh(0)).toBe(true);
    const req = sel.requestScoring();
    expect(req).toMatchObject({ kind: "pool", perturbation: null, forwardPasses: 40 });
    sel.refresh(fakeStats(req));
    expect(sel.nextBatch(0).length).toBe(4);
  });

  it("the trained set survives a state round-trip", () => {
    const sel = createSelector("sage", { dataset, batchSize: 4, refreshEvery: 3, seed: 9 });
    const a = drive(sel, 7);
    const restored = selectorFromState(JSON.parse(JSON.stringify(sel.state())), dataset);
    const b1 = drive(sel, 9, { from: 7 });
    const b2 = drive(restored, 9, { from: 7 });
    expect(b2.events).toEqual(b1.events);
    expect(b2.batches).toEqual(b1.batches);
    expect(a.batches.length).toBe(7);
    const bad = { ...sel.state() };
    expect(() =>
      selectorFromState({ ...bad, data: { ...bad.data, trained: [1e9] } } as SelectorState, dataset),
    ).toThrow(/state.data.trained entry: expected a dataset index in \[0, 1000\)/);
  });

  it("a state written before spec v2 resumes with its own behaviour (probes, raw score)", () => {
    const sel = createSelector("sage", {
      dataset,
      batchSize: 4,
      refreshEvery: 3,
      seed: 9,
      competence: "probe",
      stability: { scale: "raw" },
    });
    drive(sel, 4);
    const state = JSON.parse(JSON.stringify(sel.state())) as SelectorState;
    // strip the v2 fields, as a v1 checkpoint would have them
    const { competence: _c, ...config } = state.config;
    const { scale: _s, ...stability } = state.config.stability;
    const { trained: _t, ...data } = state.data;
    const old = { ...state, config: { ...config, stability }, data } as unknown as SelectorState;
    const restored = selectorFromState(old, dataset);
    expect(restored.config.competence).toBe("probe");
    expect(restored.config.stability.scale).toBe("raw");
    expect(drive(restored, 6, { from: 4 }).batches).toEqual(drive(sel, 6, { from: 4 }).batches);
  });

  it("rejects an unknown competence mode with a typed error", () => {
    let err: unknown;
    try {
      resolveCurriculumConfig({ competence: "holdout" as never });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CurriculumError);
    expect((err as CurriculumError).code).toBe("CONFIG_INVALID");
    expect((err as Error).message).toMatch(
      /"competence": expected "candidates" or "probe", received "holdout"/,
    );
    expect(() => resolveCurriculumConfig({ stability: { scale: "z" as never } })).toThrow(
      /"stability".*"scale": expected "pool" or "raw", received "z"/,
    );
    expect(resolveStabilityConfig().scale).toBe("pool");
  });
});
