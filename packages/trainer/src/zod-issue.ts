import type { z } from "zod";
import { describeValue } from "./errors.js";

interface Issue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly errors?: readonly (readonly Issue[])[];
}

/**
 * The most specific issue of a zod error: for a union, the branch that got furthest into the
 * value (longest path), so that `chosen: [{role: "robot"}]` reports `chosen.0.role`, not `chosen`.
 */
export function deepestIssue(error: z.ZodError): { path: PropertyKey[]; message: string } {
  const walk = (issue: Issue, prefix: readonly PropertyKey[]): { path: PropertyKey[]; message: string } => {
    const path = [...prefix, ...issue.path];
    if (issue.code === "invalid_union" && issue.errors && issue.errors.length > 0) {
      let best: { path: PropertyKey[]; message: string } | undefined;
      for (const branch of issue.errors) {
        const first = branch[0];
        if (!first) continue;
        const candidate = walk(first, path);
        if (!best || candidate.path.length > best.path.length) best = candidate;
      }
      if (best && best.path.length > path.length) return best;
    }
    return { path, message: issue.message };
  };
  return walk(error.issues[0] as unknown as Issue, []);
}

/** `field "a.b": <message>; received <value>` for the deepest issue of `error` on `input`. */
export function describeZodError(error: z.ZodError, input: unknown): { field: string; text: string } {
  const { path, message } = deepestIssue(error);
  let received: unknown = input;
  for (const key of path) {
    received =
      received !== null && typeof received === "object"
        ? (received as Record<PropertyKey, unknown>)[key]
        : undefined;
  }
  const field = path.length > 0 ? path.map(String).join(".") : "(root)";
  return { field, text: `field "${field}": ${message}; received ${describeValue(received)}` };
}
