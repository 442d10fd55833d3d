/**
 * A benchmark suite: one file `src/suites/<name>.ts` exporting `suite`. `main.ts` finds suites by
 * listing that folder, so adding a suite is a one-file change.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { SageError } from "@sage/core";

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
export class UsageError extends SageError {
  override readonly name = "UsageError";
  constructor(message: string) {
    super("USAGE_INVALID", message);
  }
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

/** `s` as an integer in [1, max], or a `UsageError` naming `what`. */
export function positiveInt(s: string, what: string, max: number): number {
  if (!/^\d+$/.test(s))
    throw new UsageError(`${what}: expected a positive integer, received '${s.slice(0, 40)}'`);
  const n = Number(s);
  if (n < 1 || n > max) throw new UsageError(`${what}: expected an integer in [1, ${max}], received ${n}`);
  return n;
}

export type SuiteOptions = NonNullable<ParseArgsConfig["options"]>;
type SuiteArgsConfig<O extends SuiteOptions> = {
  args: string[];
  strict: true;
  allowPositionals: false;
  options: O;
};
export type SuiteArgs<O extends SuiteOptions> = ReturnType<typeof parseArgs<SuiteArgsConfig<O>>>["values"];

/** `parseArgs` of a suite's options (strict, no positionals); its errors become `UsageError`s. */
export function parseSuiteArgs<const O extends SuiteOptions>(
  args: readonly string[],
  options: O,
): SuiteArgs<O> {
  try {
    return parseArgs({ args: [...args], strict: true, allowPositionals: false, options }).values;
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}
