import { describe, expect, it } from "vitest";
import {
  CHAIN_ERROR_KINDS,
  CHAINS_MAX_STEPS,
  type ChainErrorKind,
  type ChainsProblem,
  checkArithmeticSteps,
  EvalMathError,
  generateChains,
  parseChainsQuestion,
  SYNTHETIC_CHARSET,
  seededRandom,
  teacherSolution,
  verifyChains,
  verifySynthetic,
} from "../src/index.js";

const KS = Array.from({ length: CHAINS_MAX_STEPS }, (_, i) => i + 1);

/** Binomial tolerance: 4 standard deviations of a proportion p estimated from n trials. */
const tol4 = (p: number, n: number) => 4 * Math.sqrt((p * (1 - p)) / n);

/** The running values of a chain: start, then the value after each step. */
function values(p: ChainsProblem): number[] {
  const out = [p.start];
  for (const s of p.chain) out.push(out[out.length - 1]! + (s.op === "+" ? s.operand : -s.operand));
  return out;
}

describe("chains: generation", () => {
  it("is deterministic per seed, differs across seeds and lengths, and a shorter run is a prefix", () => {
    const a = generateChains({ seed: 7, steps: 3, count: 50 });
    expect(generateChains({ seed: 7, steps: 3, count: 50 })).toEqual(a);
    expect(generateChains({ seed: 8, steps: 3, count: 50 })).not.toEqual(a);
    expect(generateChains({ seed: 7, steps: 3, count: 10 })).toEqual(a.slice(0, 10));
    expect(generateChains({ seed: 7, steps: 4, count: 50 }).map((p) => p.start)).not.toEqual(
      a.map((p) => p.start),
    );
    expect(new Set(a.map((p) => p.id)).size).toBe(50);
  });

  it.each(KS.map((k) => [k]))(
    "k = %i: k steps ↔ label k, intermediates in 1..9, vocabulary, reference verifies",
    (k) => {
      const ps = generateChains({ seed: 11, steps: k, count: 300 });
      const allowed = new Set(SYNTHETIC_CHARSET);
      for (const p of ps) {
        expect(p).toMatchObject({ benchmark: "chains", level: k, steps: k });
        expect(p.chain).toHaveLength(k);
        expect(p.solution.split("\n")).toHaveLength(k + 1); // k step lines + the box
        for (const v of values(p)) {
          expect(v).toBeGreaterThanOrEqual(1);
          expect(v).toBeLessThanOrEqual(9);
        }
        for (const s of p.chain) expect(s.operand).toBeGreaterThanOrEqual(1);
        expect(String(values(p)[k])).toBe(p.answer);
        expect([...(p.question + p.solution)].filter((ch) => !allowed.has(ch))).toEqual([]);
        expect(verifyChains(p, p.solution)).toEqual({
          correct: true,
          extracted: p.answer,
          workValid: true,
          firstWrongStep: null,
        });
        expect(verifySynthetic(p, p.solution)).toMatchObject({ correct: true, stepsValid: true });
        expect(checkArithmeticSteps(p.solution)).toEqual({ valid: true, checked: k });
        // the question alone determines the chain, also inside a prompt template
        expect(parseChainsQuestion(`q: ${p.question}\na: `)).toEqual({ start: p.start, chain: p.chain });
      }
    },
  );

  it("the ladder: length grows with k; both operators, every start value and many operands occur", () => {
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const byK = KS.map((k) => generateChains({ seed: 5, steps: k, count: 300 }));
    for (let i = 1; i < byK.length; i++) {
      expect(mean(byK[i]!.map((p) => p.solution.length))).toBeGreaterThan(
        mean(byK[i - 1]!.map((p) => p.solution.length)),
      );
    }
    const all = byK.flat();
    expect(new Set(all.flatMap((p) => p.chain.map((s) => s.op)))).toEqual(new Set(["+", "-"]));
    expect([...new Set(all.map((p) => p.start))].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...new Set(all.flatMap((p) => p.chain.map((s) => s.operand)))].sort()).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8,
    ]);
  });

  it("maxValue widens the range of the intermediates", () => {
    const ps = generateChains({ seed: 3, steps: 4, count: 200, maxValue: 30 });
    const vs = ps.flatMap(values);
    expect(Math.min(...vs)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...vs)).toBeLessThanOrEqual(30);
    expect(Math.max(...vs)).toBeGreaterThan(20);
  });

  it("parseChainsQuestion returns null for anything outside the grammar", () => {
    const q = "ann has 3 pens. ann gets 4 more. ann gives away 2. how many pens does ann have?";
    expect(parseChainsQuestion(q)).toEqual({
      start: 3,
      chain: [
        { op: "+", operand: 4 },
        { op: "-", operand: 2 },
      ],
    });
    expect(parseChainsQuestion(q.replace("how many pens", "how many eggs"))).toBeNull();
    expect(parseChainsQuestion(q.replace("ann gets", "bob gets"))).toBeNull();
    expect(parseChainsQuestion("ann has 3 pens. how many pens does ann have?")).toBeNull(); // no step
    // a distractor sentence or a multiplication is not a chain
    expect(parseChainsQuestion(q.replace(" ann gives", " bob has 5 eggs. ann gives"))).toBeNull();
    expect(parseChainsQuestion(q.replace("ann gives away 2.", "the pens multiply by 2."))).toBeNull();
    expect(parseChainsQuestion("solve 3x+4=10. what is x?")).toBeNull();
  });

  it("rejects bad options with typed errors naming what was expected and received", () => {
    const bad = (f: () => unknown, re: RegExp) => {
      expect(f).toThrow(EvalMathError);
      expect(f).toThrow(re);
    };
    bad(
      () => generateChains({ seed: 1, steps: 0, count: 1 }),
      /steps must be an integer in 1\.\.6, received 0/,
    );
    bad(() => generateChains({ seed: 1, steps: 7, count: 1 }), /received 7/);
    bad(() => generateChains({ seed: 1, steps: 1.5, count: 1 }), /steps/);
    bad(() => generateChains({ seed: 1, steps: 2, count: -1 }), /count must be a non-negative integer/);
    bad(() => generateChains({ seed: 0.5, steps: 2, count: 1 }), /seed must be an integer/);
    bad(
      () => generateChains({ seed: 1, steps: 2, count: 1, maxValue: 1 }),
      /maxValue must be an integer in 2\.\.99/,
    );
    bad(() => seededRandom(Number.NaN), /seed must be an integer/);
  });
});

describe("chains: the exact verifier", () => {
  // ann has 3 pens, gets 4 more, gives away 2 → 3+4=7, 7-2=5
  const p = {
    answer: "5",
    start: 3,
    chain: [
      { op: "+" as const, operand: 4 },
      { op: "-" as const, operand: 2 },
    ],
  };
  const v = (r: string) => verifyChains(p, r);

  it("accepts the one correct work (spaces and blank lines aside)", () => {
    expect(v("3+4=7\n7-2=5\n\\boxed{5}")).toEqual({
      correct: true,
      extracted: "5",
      workValid: true,
      firstWrongStep: null,
    });
    expect(v("3 + 4 = 7\n\n7-2=5\n\\boxed{5}\n").workValid).toBe(true);
  });

  it("rejects a right answer reached through wrong work, naming the first wrong step", () => {
    // wrong result, then a step that is arithmetically right but does not follow the question
    expect(v("3+4=8\n8-3=5\n\\boxed{5}")).toMatchObject({
      correct: true,
      workValid: false,
      firstWrongStep: 0,
    });
    // a miscopied intermediate: every line is arithmetically right, so checkArithmeticSteps passes it
    expect(checkArithmeticSteps("3+4=7\n6-1=5").valid).toBe(true);
    expect(v("3+4=7\n6-1=5\n\\boxed{5}")).toMatchObject({
      correct: true,
      workValid: false,
      firstWrongStep: 1,
    });
    // a swapped operator, a missing step, an extra step, an extra prose line
    expect(v("3-4=-1\n-1+6=5\n\\boxed{5}")).toMatchObject({ correct: true, firstWrongStep: 0 });
    expect(v("3+4=7\n\\boxed{5}")).toMatchObject({ correct: true, firstWrongStep: 1 });
    expect(v("3+4=7\n7-2=5\n5+0=5\n\\boxed{5}")).toMatchObject({ correct: true, firstWrongStep: 2 });
    expect(v("3+4=7\n7-2=5\nso\n\\boxed{5}")).toMatchObject({ correct: true, firstWrongStep: 2 });
    expect(v("\\boxed{5}")).toMatchObject({ correct: true, workValid: false, firstWrongStep: 0 });
  });

  it("judges the answer exactly: last box, integer form", () => {
    expect(v("3+4=7\n7+2=9\n\\boxed{9}")).toMatchObject({ correct: false, firstWrongStep: 1 });
    expect(v("3+4=7\n7-2=5\n\\boxed{5.0}")).toMatchObject({ correct: false, workValid: true });
    expect(v("3+4=7\n7-2=5\n5")).toMatchObject({ correct: false, extracted: null });
    expect(v("3+4=7\n7-2=5\n\\boxed{5} \\boxed{6}").correct).toBe(false);
  });
});

describe("chains: the noisy teacher", () => {
  it("is exact at rate 0, always wrong at rate 1, and deterministic per rng seed", () => {
    const ps = generateChains({ seed: 2, steps: 4, count: 100 });
    const r0 = seededRandom(1);
    for (const p of ps) {
      const t = teacherSolution(p, { stepErrorRate: 0, rng: r0 });
      expect(t).toMatchObject({ text: p.solution, errors: [], answer: p.answer, correct: true });
    }
    const r1 = seededRandom(1);
    for (const p of ps) {
      const t = teacherSolution(p, { stepErrorRate: 1, rng: r1 });
      expect(t.errors.map((e) => e.step)).toEqual([0, 1, 2, 3]);
      expect(t.correct).toBe(false);
      expect(t.answer).not.toBe(p.answer);
    }
    const once = (seed: number) => {
      const r = seededRandom(seed);
      return ps.map((p) => teacherSolution(p, { stepErrorRate: 0.3, rng: r }));
    };
    expect(once(9)).toEqual(once(9));
    expect(once(9)).not.toEqual(once(10));
  });

  it("realises the requested step error rate (±4σ binomial), per step and per chain length", () => {
    const p = 0.3;
    const rng = seededRandom(42);
    let steps = 0;
    let wrong = 0;
    const kinds = new Map<ChainErrorKind, number>();
    for (const k of KS) {
      const ps = generateChains({ seed: 100 + k, steps: k, count: 1000 });
      let right = 0;
      for (const prob of ps) {
        const t = teacherSolution(prob, { stepErrorRate: p, rng });
        expect(t.stepErrorRate).toBe(p);
        steps += k;
        wrong += t.errors.length;
        for (const e of t.errors) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
        if (t.correct) right++;
      }
      // errors never cancel, so a chain of k steps is right with probability (1 − p)^k
      const expected = (1 - p) ** k;
      expect(Math.abs(right / ps.length - expected)).toBeLessThanOrEqual(tol4(expected, ps.length));
    }
    expect(steps).toBe(21000);
    expect(Math.abs(wrong / steps - p)).toBeLessThanOrEqual(tol4(p, steps)); // ±0.0127
    // every kind appears, each in at least 5% of the errors (default weights 0.4/0.1/0.25/0.25)
    for (const k of CHAIN_ERROR_KINDS) expect(kinds.get(k) ?? 0).toBeGreaterThan(0.05 * wrong);
  });

  it("each error is the kind it claims, is carried forward, and the verifier finds the first one", () => {
    const rng = seededRandom(7);
    const allowed = new Set(SYNTHETIC_CHARSET);
    for (const k of KS) {
      for (const prob of generateChains({ seed: 40 + k, steps: k, count: 300 })) {
        const t = teacherSolution(prob, { stepErrorRate: 0.3, rng });
        expect(t.correct).toBe(t.errors.length === 0);
        expect(t.text.endsWith(`\\boxed{${t.answer}}`)).toBe(true);
        expect([...t.text].filter((ch) => !allowed.has(ch))).toEqual([]);
        expect(t.lines.flatMap((l, i) => (l.error ? [{ step: i, kind: l.error }] : []))).toEqual(t.errors);
        const verdict = verifyChains(prob, t.text);
        expect(verdict.correct).toBe(t.correct);
        expect(verdict.workValid).toBe(t.correct);
        expect(verdict.firstWrongStep).toBe(t.errors[0]?.step ?? null);
        let prev = prob.start;
        t.lines.forEach((l, i) => {
          const s = prob.chain[i]!;
          const calc = (a: number, op: string) => (op === "+" ? a + s.operand : a - s.operand);
          expect(l.b).toBe(s.operand);
          switch (l.error) {
            case null:
              expect([l.a, l.op, l.c]).toEqual([prev, s.op, calc(prev, s.op)]);
              break;
            case "off-by-one":
            case "off-by-ten":
              expect([l.a, l.op]).toEqual([prev, s.op]);
              expect(Math.abs(l.c - calc(prev, s.op))).toBe(l.error === "off-by-one" ? 1 : 10);
              break;
            case "swapped-op":
              expect(l.a).toBe(prev);
              expect(l.op).not.toBe(s.op);
              expect(l.c).toBe(calc(prev, l.op));
              break;
            case "wrong-copy":
              expect(l.a).not.toBe(prev);
              expect(l.op).toBe(s.op);
              expect(l.c).toBe(calc(l.a, s.op));
              break;
          }
          prev = l.c; // carried forward
        });
        expect(String(prev)).toBe(t.answer);
      }
    }
  });

  it("weights choose the kinds; a zero weight disables a kind", () => {
    const rng = seededRandom(3);
    const seen = new Set<ChainErrorKind>();
    for (const prob of generateChains({ seed: 1, steps: 5, count: 400 })) {
      const t = teacherSolution(prob, {
        stepErrorRate: 0.5,
        rng,
        weights: { "swapped-op": 0, "wrong-copy": 0 },
      });
      for (const e of t.errors) seen.add(e.kind);
    }
    expect([...seen].sort()).toEqual(["off-by-one", "off-by-ten"]);
  });

  it("rejects bad teacher options with typed errors", () => {
    const [prob] = generateChains({ seed: 1, steps: 2, count: 1 });
    const rng = seededRandom(1);
    const bad = (o: Parameters<typeof teacherSolution>[1], re: RegExp) => {
      expect(() => teacherSolution(prob!, o)).toThrow(EvalMathError);
      expect(() => teacherSolution(prob!, o)).toThrow(re);
    };
    bad({ stepErrorRate: 1.5, rng }, /stepErrorRate must be a number in 0\.\.1, received 1\.5/);
    bad({ stepErrorRate: Number.NaN, rng }, /stepErrorRate/);
    bad(
      { stepErrorRate: 0.3, rng, weights: { "off-by-one": -1 } },
      /weights\["off-by-one"\] must be a finite number ≥ 0, received -1/,
    );
    bad(
      {
        stepErrorRate: 0.3,
        rng,
        weights: { "off-by-one": 0, "off-by-ten": 0, "swapped-op": 0, "wrong-copy": 0 },
      },
      /at least one error kind/,
    );
  });
});
