import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CurriculumError,
  createSelector,
  type PairMeta,
  SELECTOR_NAMES,
  type Selector,
  type SelectorEvent,
  type SelectorName,
  selectorFromState,
} from "../src/index.js";
import { drive, fakeDataset, fakeStats } from "./fake.js";

type Strat = {
  strataInfo: { train: Int32Array[]; probes: Int32Array[] } | null;
  poolMu(id: number): number | undefined;
};

const POOL_SELECTORS: SelectorName[] = [
  "sage",
  "curriculum-only",
  "score-only",
  "hard-mining",
  "small-margin",
];

/** Group batches by refresh: a new group starts at each step where a refresh event was emitted. */
function batchesPerRefresh(batches: number[][], events: SelectorEvent[]): number[][][] {
  const refreshSteps = new Set(events.filter((e) => e.type === "refresh").map((e) => e.step));
  const groups: number[][][] = [];
  batches.forEach((b, step) => {
    if (refreshSteps.has(step) || groups.length === 0) groups.push([]);
    groups[groups.length - 1]!.push(b);
  });
  return groups;
}

const arbConfig = fc.record({
  n: fc.integer({ min: 1, max: 400 }),
  batchSize: fc.integer({ min: 1, max: 16 }),
  refreshEvery: fc.integer({ min: 1, max: 8 }),
  nStrata: fc.integer({ min: 1, max: 5 }),
  probeSize: fc.integer({ min: 0, max: 12 }),
  competence: fc.constantFrom("candidates" as const, "probe" as const),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
  zMin: fc.constantFrom(0, 0.25, 2),
  perturbation: fc.constantFrom(
    "token-dropout" as const,
    "history" as const,
    "none" as const,
    "policy-dropout" as const,
  ),
});

interface Cfg {
  n: number;
  batchSize: number;
  refreshEvery: number;
  nStrata: number;
  probeSize: number;
  competence: "candidates" | "probe";
  seed: number;
  zMin: number;
  perturbation: "token-dropout" | "history" | "none" | "policy-dropout";
}

function build(name: SelectorName, c: Cfg, dataset?: PairMeta[]): Selector {
  return createSelector(name, {
    dataset: dataset ?? fakeDataset(c.n, c.seed),
    batchSize: c.batchSize,
    refreshEvery: c.refreshEvery,
    nStrata: c.nStrata,
    probeSize: c.probeSize,
    competence: c.competence,
    seed: c.seed,
    perturbation: c.perturbation,
    stability: { zMin: c.zMin },
  });
}

describe("selector properties (fast-check)", () => {
  it("selection size, no duplicates within a refresh, every selected pair eligible, frontier monotone", () => {
    fc.assert(
      fc.property(arbConfig, fc.constantFrom(...SELECTOR_NAMES), (c, name) => {
        const dataset = fakeDataset(c.n, c.seed);
        const sel = build(name, c, dataset);
        const steps = 3 * c.refreshEvery + 2;
        const { batches, events } = drive(sel, steps);
        const info = (sel as unknown as Strat).strataInfo;
        const probes = new Set(info?.probes.flatMap((p) => [...p]) ?? []);
        const trainCount = c.n - probes.size;
        let lastFrontier = -1;
        for (const e of events) {
          if (e.type === "refresh" && e.frontier !== null) {
            expect(e.frontier).toBeGreaterThanOrEqual(lastFrontier);
            lastFrontier = e.frontier;
          }
        }
        const batchEvents = events.filter((e) => e.type === "batch");
        expect(batchEvents.length).toBe(steps);
        batches.forEach((b, step) => {
          expect(new Set(b).size).toBe(b.length); // distinct within a batch
          for (const id of b) {
            expect(Number.isInteger(id) && id >= 0 && id < c.n).toBe(true);
            expect(probes.has(id)).toBe(false); // probes are held out
          }
          if (
            name === "uniform" ||
            name === "random" ||
            name === "score-only" ||
            name === "hard-mining" ||
            name === "small-margin"
          ) {
            expect(b.length).toBe(Math.min(c.batchSize, c.n));
          } else if (name === "selective") {
            expect(b.length).toBe(Math.min(c.batchSize, Math.max(1, Math.round(0.5 * c.n))));
          } else {
            expect(b.length).toBeGreaterThan(0);
            expect(b.length).toBeLessThanOrEqual(Math.min(c.batchSize, trainCount));
            // unlocked strata only: frontier at this step
            const frontier = (batchEvents[step] as { frontier: number | null }).frontier!;
            for (const id of b) {
              const k = info!.train.findIndex((t) => t.includes(id));
              expect(k).toBeGreaterThanOrEqual(0);
              expect(k).toBeLessThanOrEqual(frontier);
            }
          }
        });
        if (POOL_SELECTORS.includes(name)) {
          for (const group of batchesPerRefresh(batches, events)) {
            const ids = group.flat();
            expect(new Set(ids).size).toBe(ids.length); // each pair at most once per refresh
          }
        }
      }),
      { numRuns: 120, seed: 20261127 },
    );
  });

  it("determinism: same seed → same batches and events; state round-trips mid-run", () => {
    fc.assert(
      fc.property(
        arbConfig,
        fc.constantFrom(...SELECTOR_NAMES),
        fc.integer({ min: 0, max: 12 }),
        (c, name, cut) => {
          const dataset = fakeDataset(c.n, c.seed);
          const a = drive(build(name, c, dataset), 20);
          const b = drive(build(name, c, dataset), 20);
          expect(b.batches).toEqual(a.batches);
          expect(b.events).toEqual(a.events);
          const sel = build(name, c, dataset);
          const first = drive(sel, cut);
          const json = JSON.parse(JSON.stringify(sel.state()));
          const restored = selectorFromState(json, dataset);
          const rest = drive(restored, 20 - cut, { from: cut });
          expect([...first.batches, ...rest.batches]).toEqual(a.batches);
        },
      ),
      { numRuns: 80, seed: 7 },
    );
  });

  it("the stall guard always advances: with competence 0 the frontier reaches the last stratum", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.constantFrom("candidates" as const, "probe" as const),
        (nStrata, maxRefreshes, seed, competence) => {
          const sel = createSelector("sage", {
            dataset: fakeDataset(300, seed),
            nStrata,
            maxRefreshes,
            refreshEvery: 1,
            batchSize: 2,
            probeSize: 8,
            competence,
            seed,
          });
          // every implicit margin −5 < 0: competence stays 0
          const { events } = drive(sel, (nStrata - 1) * maxRefreshes + 1, { margin: -5 });
          const refreshes = events.filter((e) => e.type === "refresh");
          refreshes.forEach((e, r) => {
            // probes measure every unlocked stratum; candidates only the strata the pool drew from
            // (always the frontier's), so a lower stratum may be null there
            if (competence === "probe") expect(e.competence[0]).toBe(0);
            for (const c of e.competence) expect(c === null || c === 0).toBe(true);
            // refresh r (0-based) has seen r+1 frontier updates
            expect(e.frontier).toBe(Math.min(nStrata - 1, Math.floor((r + 1) / maxRefreshes)));
            expect(e.advanced).toBe(
              (r + 1) % maxRefreshes === 0 && r + 1 <= (nStrata - 1) * maxRefreshes ? "stall" : null,
            );
          });
        },
      ),
      { numRuns: 40, seed: 3 },
    );
  });
});

describe("selectors, example-based", () => {
  const dataset = fakeDataset(1000, 1);

  it("sage, competence probe (v1): probe competence advances the frontier; pool is half frontier, half replay; forward passes are counted", () => {
    const sel = createSelector("sage", {
      dataset,
      batchSize: 4,
      refreshEvery: 5,
      seed: 2,
      competence: "probe",
    });
    // every probe margin +5 > 0 → competence 1 → advance at each refresh
    const { events, requests } = drive(sel, 20, { probeMargin: 5 });
    const refreshes = events.filter((e) => e.type === "refresh");
    expect(refreshes.map((e) => e.frontier)).toEqual([1, 2, 3, 3]);
    expect(refreshes.map((e) => e.advanced)).toEqual(["competence", "competence", "competence", null]);
    expect(refreshes[0]!.poolSize).toBe(2 * 4 * 5);
    const info = (sel as unknown as Strat).strataInfo!;
    const pool = requests.filter((r) => r.kind === "pool")[1]!.pairIds; // frontier 2
    const inFrontier = pool.filter((id) => info.train[2]!.includes(id)).length;
    expect(inFrontier).toBe(20);
    expect(pool.filter((id) => info.train[0]!.includes(id) || info.train[1]!.includes(id)).length).toBe(20);
    // probes: 64 per unlocked stratum; pool: 40 pairs × 1 pass (token dropout)
    expect(requests[0]).toMatchObject({ kind: "probe", forwardPasses: 64, perturbation: null });
    expect(requests[1]).toMatchObject({ kind: "pool", forwardPasses: 40 });
    expect(requests[1]!.perturbation).toMatchObject({ kind: "token-dropout", k: 4, rho: 0.1 });
    const total = requests.reduce((s, r) => s + r.forwardPasses, 0);
    expect(refreshes[refreshes.length - 1]!.forwardPassesTotal).toBe(total);
    const batch = events.find((e) => e.type === "batch")!;
    expect(batch.type === "batch" && batch.scoreQuantiles !== null).toBe(true);
  });

  it("policy dropout asks for K passes per pooled pair", () => {
    const sel = createSelector("score-only", {
      dataset: 100,
      batchSize: 2,
      refreshEvery: 2,
      perturbation: "policy-dropout",
    });
    expect(sel.needsRefresh(0)).toBe(true);
    expect(sel.requestScoring()).toMatchObject({ kind: "pool", forwardPasses: 8 * 4 });
  });

  it("sage selects by score: the batch holds the pool's best eligible pairs (τ = 0)", () => {
    const sel = createSelector("score-only", {
      dataset: 200,
      batchSize: 5,
      refreshEvery: 4,
      tau: 0,
      seed: 1,
    });
    sel.needsRefresh(0);
    const req = sel.requestScoring();
    const stats = fakeStats(req, { spread: 0 });
    sel.refresh(stats);
    const ids = sel.nextBatch(0);
    // s = 0 for every pair, so the highest S = most negative μ (s similar): compare with the pool's e
    const e = req.pairIds.map((id, j) => ({
      id,
      e: stats.policyChosen[j]! / 10 - stats.policyRejected[j]! / 10,
    }));
    const best = e
      .sort((a, b) => a.e - b.e)
      .slice(0, 5)
      .map((x) => x.id);
    expect(new Set(ids)).toEqual(new Set(best));
  });

  it("hard-mining takes the most negative margins; small-margin the smallest |m|", () => {
    for (const name of ["hard-mining", "small-margin"] as const) {
      const sel = createSelector(name, { dataset: 300, batchSize: 6, refreshEvery: 3, seed: 4 });
      sel.needsRefresh(0);
      const req = sel.requestScoring();
      expect(req.perturbation).toBe(null);
      const stats = fakeStats(req);
      sel.refresh(stats);
      const ids = sel.nextBatch(0);
      const m = req.pairIds.map((id, j) => ({
        id,
        m:
          0.1 *
          (stats.policyChosen[j]! -
            stats.referenceChosen[j]! -
            (stats.policyRejected[j]! - stats.referenceRejected[j]!)),
      }));
      const key = name === "hard-mining" ? (x: { m: number }) => x.m : (x: { m: number }) => Math.abs(x.m);
      const best = m
        .sort((a, b) => key(a) - key(b))
        .slice(0, 6)
        .map((x) => x.id);
      expect(ids).toEqual(best);
    }
  });

  it("uniform covers every pair once per epoch; selective keeps the easiest half, easiest first", () => {
    const u = createSelector("uniform", { dataset: 10, batchSize: 4, seed: 3 });
    const seen = [0, 1, 2, 3, 4].flatMap((s) => u.nextBatch(s)); // 20 = two epochs
    expect(new Set(seen.slice(0, 10)).size).toBe(10);
    expect(new Set(seen.slice(10, 20)).size).toBe(10);
    const pairs = Array.from({ length: 8 }, (_, i) => ({ referenceChosen: -10, referenceRejected: -10 - i }));
    const sv = createSelector("selective", { dataset: pairs, batchSize: 3 });
    // reference loss −log σ(Δref) is smallest for the largest Δref = i
    expect(sv.nextBatch(0)).toEqual([7, 6, 5]);
    expect(sv.nextBatch(1)).toEqual([4, 7, 6]);
    const r = createSelector("random", { dataset: 5, batchSize: 5 });
    expect(new Set(r.nextBatch(0)).size).toBe(5);
  });

  it("all pairs filtered: the batch is filled from trivial, then unstable pairs (documented fallback)", () => {
    // every implicit margin = 5: σ(−5) ≈ 0.0067 < g_min → all trivial
    const sel = createSelector("score-only", {
      dataset: 50,
      batchSize: 4,
      refreshEvery: 2,
      seed: 1,
      stability: { zMin: 100 },
    });
    const { batches, events } = drive(sel, 3, { margin: 5 });
    expect(batches.every((b) => b.length === 4)).toBe(true);
    const refresh = events.find((e) => e.type === "refresh")!;
    expect(refresh.type === "refresh" && refresh.trivialFraction).toBe(1);
    expect(refresh.type === "refresh" && refresh.unstableFraction).toBe(1); // z_min = 100: every s > 0 pair is unstable
    expect(refresh.type === "refresh" && refresh.eligible).toBe(0);
    const b = events.find((e) => e.type === "batch")!;
    expect(b.type === "batch" && b.fallback).toBe(4);
    // with nothing eligible, a refresh is due at every new step (fewer than B eligible remain)
    expect(events.filter((e) => e.type === "refresh").length).toBe(3);
  });

  it("one stratum: the frontier stays at 0 and training proceeds", () => {
    const sel = createSelector("sage", { dataset, nStrata: 1, batchSize: 8, refreshEvery: 3 });
    const { batches, events } = drive(sel, 7);
    expect(batches.every((b) => b.length === 8)).toBe(true);
    expect(events.filter((e) => e.type === "refresh").every((e) => e.frontier === 0)).toBe(true);
  });

  it("a state taken in the middle of a refresh restores the pending request", () => {
    for (const competence of ["candidates", "probe"] as const) {
      const sel = createSelector("sage", { dataset, batchSize: 4, refreshEvery: 3, seed: 8, competence });
      expect(sel.needsRefresh(0)).toBe(true);
      const first = sel.requestScoring();
      expect(first.kind).toBe(competence === "probe" ? "probe" : "pool");
      const restored = selectorFromState(JSON.parse(JSON.stringify(sel.state())), dataset);
      expect(restored.needsRefresh(0)).toBe(true);
      expect(restored.requestScoring()).toEqual(first);
      for (const s of [sel, restored]) {
        s.refresh(fakeStats(first));
        while (s.needsRefresh(0)) s.refresh(fakeStats(s.requestScoring()));
      }
      expect(restored.nextBatch(0)).toEqual(sel.nextBatch(0));
    }
  });

  it("protocol and input errors are typed and explicit", () => {
    expect(() => createSelector("sage", { dataset: [] })).toThrow(/expected at least 1 pair, received 0/);
    expect(() => createSelector("sage", { dataset: 10 })).toThrow(/needs per-pair difficulty inputs/);
    expect(() => createSelector("bogus" as SelectorName, { dataset: 10 })).toThrow(/selector name/);
    const sel = createSelector("sage", { dataset, batchSize: 2 });
    expect(() => sel.requestScoring()).toThrow(CurriculumError);
    expect(() => sel.nextBatch(0)).toThrow(/refresh due at this step/);
    expect(sel.needsRefresh(0)).toBe(true);
    const pool = sel.requestScoring();
    expect(pool.kind).toBe("pool");
    expect(() => sel.refresh({ ...fakeStats(pool), policyChosen: new Float64Array(1) })).toThrow(
      /rows \(one per requested pair\)/,
    );
    const bad = fakeStats(pool);
    bad.policyRejected[3] = Number.NaN;
    expect(() => sel.refresh(bad)).toThrow(
      new RegExp(
        `pair ${pool.pairIds[3]} \\(index 3\\): policyRejected: expected a finite number, received NaN`,
      ),
    );
    const { perturbed: _p, k: _k, ...plain } = fakeStats(pool);
    expect(() => sel.refresh(plain)).toThrow(/perturbed error margins with k = 4/);
    sel.refresh(fakeStats(pool));
    expect(() => selectorFromState({ ...sel.state(), datasetFingerprint: 1 }, dataset)).toThrow(
      /state dataset/,
    );
    expect(() => createSelector("uniform", { dataset: 3 }).requestScoring()).toThrow(/never needs scoring/);
  });
});
