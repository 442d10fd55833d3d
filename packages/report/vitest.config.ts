import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["@sage/source"] },
  ssr: { resolve: { conditions: ["@sage/source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
