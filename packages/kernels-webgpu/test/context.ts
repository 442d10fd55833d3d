import { afterAll, afterEach, beforeAll } from "vitest";
import type { GpuContext } from "../src/runtime/context.js";
import { createTestContext, expectClean } from "../src/testing.js";

/**
 * One GPU context for a test file: created before its tests, handed to `set` (tests keep a plain
 * `ctx` variable) and destroyed after them. With `clean`, every test must end with no live tensor
 * and no GPU error (checked after the test's `using` disposals); without, tests check it themselves.
 */
export function useTestContext(options: { clean: boolean }, set: (ctx: GpuContext) => void): void {
  let ctx: GpuContext | undefined;
  beforeAll(async () => {
    ctx = await createTestContext();
    set(ctx);
  });
  afterAll(() => ctx?.destroy());
  if (options.clean) afterEach(() => (ctx ? expectClean(ctx) : undefined));
}
