import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["@sage/source"] },
  ssr: { resolve: { conditions: ["@sage/source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // test/gc-stress.test.ts forces garbage collection between awaits (dawn.node lifetime check);
    // it fails, never skips, when `gc` is not exposed.
    execArgv: ["--expose-gc"],
  },
});
