/** Drop `undefined` values (recursively in plain objects): zod's optional fields vs `exactOptionalPropertyTypes`. */
export function stripUndefined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    out[k] = v !== null && typeof v === "object" && !Array.isArray(v) ? stripUndefined(v) : v;
  }
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}
