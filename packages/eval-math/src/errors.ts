import { describeValue, type ErrorCode, SageError } from "@sage/core";

/** Error codes raised by `@sage/eval-math` (a part of `@sage/core`'s one vocabulary). */
export type EvalMathErrorCode = Extract<
  ErrorCode,
  "ARGUMENT_INVALID" | "DATA_MISSING" | "DATA_INVALID" | "BENCHMARK_UNKNOWN" | "GENERATOR_FAILED"
>;

/** The one error class of this package; `code` says what kind of failure it is. */
export class EvalMathError extends SageError {
  declare readonly code: EvalMathErrorCode;
  constructor(code: EvalMathErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "EvalMathError";
  }
}

/** Shorten a value for an error message. */
export function truncate(value: unknown, max = 120): string {
  return describeValue(value, max);
}

/**
 * Thrown by {@link StepCounter.charge} when a comparison runs past its step budget. Callers inside
 * this package turn it into an `unknown` verdict; it never escapes the public functions.
 */
export class StepBudgetExceeded extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StepBudgetExceeded";
  }
}

/**
 * Counts the grader's work in steps (not milliseconds), so bounds are reproducible on any machine.
 *
 * A step is one unit of bounded work: one character scanned by a linear pass, one tree node
 * visited by a numeric evaluation; the few library calls that cost more per node (mathjs
 * `simplify`, 64-digit BigNumber arithmetic) are charged a fixed multiple of their node count.
 * Every superlinear step is guarded by a size check before it runs, so the count bounds the work.
 * Pass one counter in the options to read how many steps a call took (`counter.steps`).
 */
export class StepCounter {
  /** Steps charged so far (across every call this counter was passed to). */
  steps = 0;
  private limit = Number.POSITIVE_INFINITY;

  /** Charge `n` steps before doing that work; throws {@link StepBudgetExceeded} (charging nothing) when they would pass the active limit. */
  charge(n: number): void {
    if (this.steps + n > this.limit) {
      // the work is refused before it runs, so `steps` never passes the limit
      throw new StepBudgetExceeded(
        `step budget exceeded (${this.steps} steps done, ${n} more needed, limit ${this.limit})`,
      );
    }
    this.steps += n;
  }

  /** Run `f` with at most `maxSteps` further steps (nested limits keep the tighter one). */
  withLimit<T>(maxSteps: number, f: () => T): T {
    const saved = this.limit;
    this.limit = Math.min(saved, this.steps + maxSteps);
    try {
      return f();
    } finally {
      this.limit = saved;
    }
  }
}
