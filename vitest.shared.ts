import { defineConfig, mergeConfig, type ViteUserConfig } from "vitest/config";

/**
 * The one vitest configuration of the workspaces: sources resolved through the `@sage/source`
 * condition (no build needed), tests in `test/**`, and timeouts sized for the worst case the suite
 * must survive — a fresh 2-core CI machine with a cold Mesa shader cache (every pipeline compiled by
 * LLVM on first use) and another CPU-heavy process beside it. Typical GPU tests take a tenth of
 * this; no test asserts on time. A package passes only what differs.
 */
export function sageVitestConfig(overrides: ViteUserConfig = {}): ViteUserConfig {
  return mergeConfig(
    defineConfig({
      resolve: { conditions: ["@sage/source"] },
      ssr: { resolve: { conditions: ["@sage/source"] } },
      test: {
        include: ["test/**/*.test.ts"],
        testTimeout: 300_000,
        hookTimeout: 300_000,
      },
    }),
    overrides,
  );
}
