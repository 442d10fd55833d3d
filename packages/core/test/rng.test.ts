import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Rng, SageError } from "../src/index.js";

interface Vector {
  state0: number[];
  u32: number[];
  f: number[];
  ints: number[];
  n: number;
  sh: number[];
  after: number[];
}

/** Outputs of the trainer's generator before it moved here (`packages/trainer/src/rng.ts`). */
const TRAINER_VECTORS = JSON.parse(
  readFileSync(new URL("./fixtures/trainer-rng-vectors.json", import.meta.url), "utf8"),
) as Record<string, Vector>;

describe("Rng", () => {
  it.each(Object.keys(TRAINER_VECTORS))("seed %s gives the trainer's former stream", (seedText) => {
    const v = TRAINER_VECTORS[seedText]!;
    const seed = Number(seedText);
    expect(new Rng(seed).getState()).toEqual({ algorithm: "xoshiro128**", s: v.state0 });
    const r = new Rng(seed);
    expect(Array.from({ length: 4 }, () => r.nextU32())).toEqual(v.u32);
    expect(Array.from({ length: 2 }, () => r.next())).toEqual(v.f);
    expect(Array.from({ length: 4 }, () => r.int(1000))).toEqual(v.ints);
    expect(r.normal()).toBe(v.n);
    expect(r.shuffle([0, 1, 2, 3, 4, 5, 6, 7])).toEqual(v.sh);
    expect(r.getState().s).toEqual(v.after);
  });

  it("pins a few raw words", () => {
    const r = new Rng(42);
    expect([r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([2837322924, 544945897, 479756282]);
  });

  it("restores its state mid-stream, through JSON", () => {
    const a = new Rng(7);
    for (let i = 0; i < 13; i++) a.next();
    const saved = JSON.parse(JSON.stringify(a.getState()));
    const expected = [a.nextU32(), a.next(), a.int(17), a.normal(), a.gumbel(), a.nextOpen()];
    const b = Rng.fromState(saved);
    expect([b.nextU32(), b.next(), b.int(17), b.normal(), b.gumbel(), b.nextOpen()]).toEqual(expected);
    const c = new Rng(0);
    c.setState(saved);
    expect(c.nextU32()).toBe(Rng.fromState(saved).nextU32());
  });

  it("clone continues independently from the same point", () => {
    const a = new Rng(3);
    a.nextU32();
    const b = a.clone();
    expect(b.nextU32()).toBe(a.nextU32());
    b.nextU32();
    expect(b.getState()).not.toEqual(a.getState());
  });

  it("draws stay in their ranges", () => {
    const r = new Rng(1);
    for (let i = 0; i < 2000; i++) {
      const u = r.next();
      expect(u >= 0 && u < 1).toBe(true);
      const o = r.nextOpen();
      expect(o > 0 && o < 1).toBe(true);
      const k = r.intIn(-3, 3);
      expect(Number.isInteger(k) && k >= -3 && k <= 3).toBe(true);
      expect(Math.abs(r.gumbel())).toBeLessThan(22.3);
    }
    const shuffled = r.shuffle(Int32Array.from([5, 6, 7, 8]));
    expect(Array.from(shuffled).sort()).toEqual([5, 6, 7, 8]);
  });

  it("rejects bad seeds, bounds and states with typed errors", () => {
    expect(() => new Rng(1.5)).toThrow(SageError);
    expect(() => new Rng(1).int(0)).toThrow(/positive integer/);
    expect(() => new Rng(1).intIn(3, 2)).toThrow(/lo ≤ hi/);
    const r = new Rng(1);
    for (const bad of [
      { algorithm: "xoshiro128**", s: [0, 0, 0, 0] },
      { algorithm: "mulberry32", s: [1, 2, 3, 4] },
      { algorithm: "xoshiro128**", s: [1, 2, 3] },
      { algorithm: "xoshiro128**", s: [1, 2, 3, 2 ** 32] },
      null,
    ]) {
      expect(() => r.setState(bad as never)).toThrow(expect.objectContaining({ code: "RNG_STATE_INVALID" }));
    }
  });
});
