import { Rng, sigmoid } from "@sage/stability";
import { describe, expect, it } from "vitest";
import {
  advanceFrontier,
  buildStrata,
  CurriculumError,
  DEFAULT_CURRICULUM_CONFIG,
  estimateDifficulty,
  gumbelOrder,
  gumbelTopK,
  resolveCurriculumConfig,
  rewardAccuracy,
} from "../src/index.js";

const opts = { levelMin: 1, levelMax: 5, lengthNormalize: false };

describe("difficulty", () => {
  it("uses the first available of pass rate, dataset level, reference margin", () => {
    const { difficulty, source } = estimateDifficulty(
      [
        { passRate: 0.25, level: 5, referenceChosen: -1, referenceRejected: -2 },
        { level: 3, referenceChosen: -1, referenceRejected: -2 },
        { referenceChosen: -10, referenceRejected: -12 },
      ],
      opts,
    );
    expect(Array.from(difficulty)).toEqual([0.75, 0.5, sigmoid(-2)]); // (3−1)/4; σ(−Δref), Δref = 2
    expect(source).toEqual(["pass-rate", "level", "reference-margin"]);
    const norm = estimateDifficulty(
      [{ referenceChosen: -10, referenceRejected: -12, chosenTokens: 5, rejectedTokens: 4 }],
      {
        ...opts,
        lengthNormalize: true,
      },
    );
    expect(norm.difficulty[0]).toBe(sigmoid(-(-2 + 3)));
  });

  it("rejects pairs without inputs or with out-of-range values, naming the pair", () => {
    expect(() => estimateDifficulty([{ id: "q1" }], opts)).toThrow(
      /pair "q1" \(index 0\): no difficulty input/,
    );
    expect(() => estimateDifficulty([{ passRate: 1.5 }], opts)).toThrow(
      /passRate: expected a number in \[0, 1\], received 1.5/,
    );
    expect(() => estimateDifficulty([{ level: 7 }], opts)).toThrow(/level: expected a number in \[1, 5\]/);
    expect(() =>
      estimateDifficulty([{ id: 3, referenceChosen: Number.NaN, referenceRejected: 0 }], opts),
    ).toThrow(CurriculumError);
  });
});

describe("strata", () => {
  it("equal-count quantile strata, easiest first, with disjoint held-out probes", () => {
    const rng = new Rng(3);
    const d = Float64Array.from({ length: 1000 }, () => rng.next());
    const s = buildStrata(d, 4, 64, 1);
    expect(s.count).toBe(4);
    for (let k = 0; k < 4; k++) {
      expect(s.train[k]!.length + s.probes[k]!.length).toBe(250);
      expect(s.probes[k]!.length).toBe(64);
      const all = [...s.train[k]!, ...s.probes[k]!];
      for (const i of all) expect(s.stratumOf[i]).toBe(k);
      if (k > 0) {
        const prevMax = Math.max(...[...s.train[k - 1]!, ...s.probes[k - 1]!].map((i) => d[i]!));
        expect(Math.min(...all.map((i) => d[i]!))).toBeGreaterThanOrEqual(prevMax);
      }
      const probe = new Set(s.probes[k]);
      expect(s.train[k]!.some((i) => probe.has(i))).toBe(false);
    }
  });

  it("ties (e.g. dataset levels) are split over strata; tiny datasets use min(nStrata, n) strata", () => {
    const d = new Float64Array(100).fill(0.5);
    const s = buildStrata(d, 4, 64, 0);
    expect(s.train.map((t, k) => t.length + s.probes[k]!.length)).toEqual([25, 25, 25, 25]);
    expect(s.probes[0]!.length).toBe(12); // at most half of a stratum
    const tiny = buildStrata(Float64Array.of(0.3, 0.1), 4, 64, 0);
    expect(tiny.count).toBe(2);
    expect(Array.from(tiny.stratumOf)).toEqual([1, 0]);
    expect(tiny.train.map((t) => t.length)).toEqual([1, 1]);
    const one = buildStrata(Float64Array.of(0.3, 0.1, 0.2), 1, 1, 0);
    expect(one.count).toBe(1);
    expect(one.probes[0]!.length).toBe(1);
  });
});

describe("frontier rule", () => {
  const o = { nStrata: 4, cAdv: 0.7, maxRefreshes: 4 };
  it("advances on competence ≥ c_adv of the highest unlocked stratum", () => {
    expect(advanceFrontier({ frontier: 0, refreshesWithoutAdvance: 2 }, [0.7], o)).toEqual({
      state: { frontier: 1, refreshesWithoutAdvance: 0 },
      advanced: "competence",
    });
    // only the highest unlocked stratum counts
    expect(advanceFrontier({ frontier: 1, refreshesWithoutAdvance: 0 }, [1, 0.69], o).advanced).toBe(null);
  });

  it("the stall guard unlocks after max_refreshes refreshes without advancing; nothing past the last stratum", () => {
    let st = { frontier: 0, refreshesWithoutAdvance: 0 };
    const reasons: (string | null)[] = [];
    for (let r = 0; r < 12; r++) {
      const x = advanceFrontier(st, [0, 0, 0, 0], o);
      st = x.state;
      reasons.push(x.advanced);
    }
    expect(reasons).toEqual([
      null,
      null,
      null,
      "stall",
      null,
      null,
      null,
      "stall",
      null,
      null,
      null,
      "stall",
    ]);
    expect(st.frontier).toBe(3);
    expect(advanceFrontier(st, [1, 1, 1, 1], o)).toEqual({
      state: { frontier: 3, refreshesWithoutAdvance: 0 },
      advanced: null,
    });
    expect(advanceFrontier({ frontier: 0, refreshesWithoutAdvance: 0 }, [null], o).advanced).toBe(null);
  });

  it("reward accuracy counts m > 0", () => {
    expect(rewardAccuracy([0, 1, -1, 2])).toBe(0.5);
    expect(rewardAccuracy([])).toBe(null);
  });
});

describe("Gumbel-top-k", () => {
  it("τ = 0 is deterministic top-k; classes come first", () => {
    const r = new Rng(0);
    expect(Array.from(gumbelTopK([1, 5, 3, 4], 2, 0, r))).toEqual([1, 3]);
    expect(Array.from(gumbelOrder([1, 5, 3, 4], [0, 1, 0, 2], 0, r))).toEqual([2, 0, 1, 3]);
  });

  it("the first pick has probability ∝ exp(S/τ)", () => {
    // S = log(1, 2, 3, 4) with τ = 1 → p = (0.1, 0.2, 0.3, 0.4). 20 000 draws: std ≤ 0.0035, tol 0.015 (> 4σ)
    const S = [1, 2, 3, 4].map(Math.log);
    const r = new Rng(11);
    const counts = [0, 0, 0, 0];
    for (let t = 0; t < 20_000; t++) counts[gumbelTopK(S, 1, 1, r)[0]!]!++;
    counts.forEach((c, i) => {
      expect(Math.abs(c / 20_000 - (i + 1) / 10)).toBeLessThan(0.015);
    });
  });
});

describe("config", () => {
  it("defaults are the spec's", () => {
    expect(DEFAULT_CURRICULUM_CONFIG).toMatchObject({
      refreshEvery: 25,
      poolSize: null,
      nStrata: 4,
      probeSize: 64,
      cAdv: 0.7,
      maxRefreshes: 4,
      tau: 1,
      selectiveKeep: 0.5,
      perturbation: "token-dropout",
    });
    expect(DEFAULT_CURRICULUM_CONFIG.stability).toMatchObject({
      k: 4,
      rho: 0.1,
      zMin: 0,
      gMin: 0.02,
      alpha: 1,
      s0: 0.05,
      mCap: 8,
    });
  });

  it("rejects invalid values with the field named", () => {
    expect(() => resolveCurriculumConfig({ cAdv: 2 })).toThrow(
      /"cAdv": expected a number in \[0, 1\], received 2/,
    );
    expect(() => resolveCurriculumConfig({ stability: { alpha: -1 } })).toThrow(/"stability".*alpha/);
    expect(() => resolveCurriculumConfig({ nope: 1 } as never)).toThrow(
      /unknown curriculum config field "nope"/,
    );
  });
});
