/**
 * A benchmark suite: one file `src/suites/<name>.ts` exporting `suite`. `main.ts` finds suites by
 * listing that folder, so adding a suite is a one-file change.
 */
export interface Suite {
  /** Name on the command line (`npm run bench -- <name>`); must equal the file name. */
  name: string;
  /** One line for `npm run bench -- --help`. */
  description: string;
  /** Usage text for the suite's own options. */
  usage: string;
  /** Run with the arguments after the suite name. Resolves to the process exit code. */
  run(args: readonly string[]): Promise<number>;
}

/** Thrown for bad command-line input; `main.ts` prints the message and the suite's usage. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function isSuite(x: unknown): x is Suite {
  if (typeof x !== "object" || x === null) return false;
  const s = x as Record<string, unknown>;
  return (
    typeof s.name === "string" &&
    typeof s.description === "string" &&
    typeof s.usage === "string" &&
    typeof s.run === "function"
  );
}
