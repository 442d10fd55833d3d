import { Rng, type RngState } from "@sage/stability";
import { CurriculumError } from "./errors.js";

/** Serialisable state of an `EpochCursor`. */
export interface EpochCursorState {
  readonly epoch: number;
  readonly epochRng: RngState | null;
  readonly carried: readonly number[];
  readonly cursor: number;
}

/**
 * Walks a list of items epoch by epoch (optionally reshuffled at each epoch), batch by batch. A
 * batch that crosses an epoch boundary never repeats an item: the items already in it are moved
 * to the end of the new epoch, so every item is still seen exactly once per epoch.
 */
export class EpochCursor {
  private perm: Int32Array;
  private epoch = 0;
  private epochRng: RngState | null;
  private carried: number[] = [];
  private cursor = 0;

  constructor(
    private readonly items: Int32Array,
    private rng: Rng | null,
  ) {
    this.epochRng = rng?.getState() ?? null;
    this.perm = this.build();
  }

  private build(): Int32Array {
    const p = Int32Array.from(this.items);
    if (this.rng) this.rng.shuffle(p);
    if (this.carried.length === 0) return p;
    const carried = new Set(this.carried);
    const head = p.filter((v) => !carried.has(v));
    const tail = p.filter((v) => carried.has(v));
    const out = new Int32Array(p.length);
    out.set(head, 0);
    out.set(tail, head.length);
    return out;
  }

  get size(): number {
    return this.items.length;
  }

  /** The generator (current state), or null for a fixed order. */
  get generator(): Rng | null {
    return this.rng;
  }

  get epochIndex(): number {
    return this.epoch;
  }

  /** The next `min(b, size)` items. */
  take(b: number): number[] {
    const want = Math.min(b, this.items.length);
    const out: number[] = [];
    while (out.length < want) {
      if (this.cursor >= this.perm.length) {
        this.epoch++;
        this.epochRng = this.rng?.getState() ?? null;
        this.carried = [...out];
        this.perm = this.build();
        this.cursor = 0;
      }
      out.push(this.perm[this.cursor++]!);
    }
    return out;
  }

  state(): EpochCursorState {
    return { epoch: this.epoch, epochRng: this.epochRng, carried: [...this.carried], cursor: this.cursor };
  }

  /** Restore (the items must be the same as when the state was taken). */
  load(s: EpochCursorState): void {
    if (!s || !Number.isInteger(s.epoch) || !Number.isInteger(s.cursor) || !Array.isArray(s.carried)) {
      throw CurriculumError.mismatch(
        "STATE_INVALID",
        "epoch cursor state",
        "{ epoch, epochRng, carried, cursor }",
        s,
      );
    }
    if (s.cursor < 0 || s.cursor > this.items.length) {
      throw CurriculumError.mismatch(
        "STATE_INVALID",
        "epoch cursor",
        `an integer in [0, ${this.items.length}]`,
        s.cursor,
      );
    }
    if ((this.rng === null) !== (s.epochRng === null)) {
      throw CurriculumError.mismatch(
        "STATE_INVALID",
        "epoch cursor epochRng",
        this.rng ? "an rng state" : "null",
        s.epochRng,
      );
    }
    this.epoch = s.epoch;
    this.epochRng = s.epochRng;
    this.carried = [...s.carried];
    // rebuild the epoch's permutation from the rng state it was drawn with, then continue from there
    if (s.epochRng !== null) this.rng = Rng.fromState(s.epochRng);
    this.perm = this.build();
    this.cursor = s.cursor;
  }
}
