/**
 * The playground in a real browser: Chromium (headless, WebGPU on; SwiftShader on a machine without
 * a GPU) driven by playwright-core against a production build served by `vite preview`. Checks that
 * the page finds and reports an adapter; that sequence log-probs of the shipped checkpoint computed
 * in the page match the same packages in this process (Dawn, lavapipe here); that the default DPO
 * run of `uniform` and `sage` completes with finite metrics; that the console stays free of errors.
 * It writes a screenshot and the bundle's sizes to test-output/ (gitignored).
 *
 * The browser: $SAGE_CHROMIUM, else /usr/bin/chromium (or /usr/bin/chromium-browser). With CI=true a missing browser fails the
 * suite; elsewhere the suite is skipped with a message saying what to install.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSynthetic } from "@sage/eval-math";
import { createContext, type GpuContext } from "@sage/kernels-webgpu";
import { loadModelDir, Policy } from "@sage/model";
import { syntheticPrompt, WebGpuPolicy } from "@sage/trainer";
import { type Browser, chromium, type Page } from "playwright-core";
import { build, type PreviewServer, preview } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {} from "../src/api.js";
import type { PlaygroundResult } from "../src/experiment.js";
import { CHECKPOINT, DEFAULT_SETTINGS } from "../src/settings.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const checkpointDir = fileURLToPath(new URL(`../../../packages/cli/assets/${CHECKPOINT}`, import.meta.url));
const outputDir = join(root, "test-output");
// $SAGE_CHROMIUM, else Debian's (/usr/bin/chromium) or Ubuntu's (/usr/bin/chromium-browser) package.
const executablePath =
  process.env.SAGE_CHROMIUM ||
  (["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p)) ?? "/usr/bin/chromium");
const haveBrowser = existsSync(executablePath);
const ci = process.env.CI === "true" || process.env.CI === "1";

if (!haveBrowser && !ci) {
  console.warn(
    `playground browser test skipped: no browser at ${executablePath} (install Debian's chromium, or set SAGE_CHROMIUM); with CI=true this is a failure`,
  );
}

/** Fixed pairs: a correct worked solution vs the same work with a wrong final answer, levels 1–3. */
const PAIRS = [1, 2, 3].flatMap((level) =>
  generateSynthetic({ seed: 777, level: level as 1 | 2 | 3, count: 2 }).map((p) => ({
    id: p.id,
    prompt: syntheticPrompt(p.question),
    chosen: p.solution,
    rejected: p.solution.replace(/\\boxed\{(-?\d+)\}$/, (_, a: string) => `\\boxed{${BigInt(a) + 1n}}`),
  })),
);

describe.skipIf(!haveBrowser && !ci)("playground in Chromium", () => {
  let server: PreviewServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let outDir: string;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!haveBrowser) {
      throw new Error(
        `CI=true and no browser at ${executablePath}: expected Debian's chromium (scripts/setup.mjs installs it) or SAGE_CHROMIUM pointing at a Chromium ≥ 120`,
      );
    }
    outDir = mkdtempSync(join(tmpdir(), "sage-playground-"));
    await build({ root, logLevel: "warn", build: { outDir, emptyOutDir: true } });
    server = await preview({
      root,
      logLevel: "warn",
      build: { outDir },
      preview: { port: 0, host: "127.0.0.1" },
    });
    browser = await chromium.launch({
      executablePath,
      args: ["--enable-unsafe-webgpu", "--enable-features=Vulkan"],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console.error: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
    const url = server.resolvedUrls?.local[0];
    if (!url) throw new Error("vite preview: expected a local URL; received none");
    await page.goto(url);
    await page.waitForFunction(
      () => window.sagePlayground !== undefined && window.sagePlayground.state !== "loading",
      null,
      {
        timeout: 0,
      },
    );
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it("finds a WebGPU adapter and reports it", async () => {
    const s = await page.evaluate(() => ({
      state: window.sagePlayground.state,
      error: window.sagePlayground.error,
      adapter: window.sagePlayground.adapter,
      parameters: window.sagePlayground.parameters,
    }));
    expect(s.error).toBeUndefined();
    expect(s.state).toBe("ready");
    expect(s.adapter).toMatch(/\S/);
    expect(s.adapter).not.toBe("unknown adapter");
    expect(await page.textContent("#adapter")).toContain(s.adapter);
    expect(s.parameters).toBeGreaterThan(0);
    console.log(`page adapter: ${s.adapter}`);
  });

  it("computes the same sequence log-probs as Node (Dawn) within 1e-4", async () => {
    const inPage = await page.evaluate((pairs) => window.sagePlayground.sequenceLogProbs(pairs), PAIRS);
    let ctx: GpuContext | undefined;
    let inNode: { chosen: Float64Array; rejected: Float64Array };
    ctx = await createContext({ label: "playground-test" });
    try {
      const model = loadModelDir(checkpointDir);
      const policy = Policy.create(ctx, model.config, model.weights);
      const gpu = new WebGpuPolicy({ policy, tokenizer: model.tokenizer! });
      try {
        inNode = await gpu.sequenceLogProbs(PAIRS);
      } finally {
        gpu.destroy();
        policy.destroy();
      }
    } finally {
      ctx.destroy();
      ctx = undefined;
    }
    const a = [...inPage.chosen, ...inPage.rejected];
    const b = [...inNode.chosen, ...inNode.rejected];
    expect(a).toHaveLength(2 * PAIRS.length);
    expect(b).toHaveLength(2 * PAIRS.length);
    // Meaningful values: finite, negative, and not all alike (the comparison can fail).
    for (const v of [...a, ...b]) expect(v).toBeLessThan(0);
    expect(new Set(b.map((v) => v.toFixed(3))).size).toBeGreaterThan(PAIRS.length);
    // Tolerance 1e-4 (absolute, on sums of ≤ 40 token log-probs): both sides run the same WGSL in
    // f32 on different software GPUs (SwiftShader, lavapipe) whose summation order and fused
    // multiply-adds differ: about 1e-6 per token log-prob, far below 1e-4; a wrong token, mask
    // or weight moves a sum by more than 1e-2.
    const diffs = a.map((v, i) => Math.abs(v - b[i]!));
    console.log(`log-prob max |page − node| = ${Math.max(...diffs).toExponential(2)} over ${a.length} sums`);
    for (const d of diffs) expect(d).toBeLessThanOrEqual(1e-4);
    // …and the rejected answer (wrong final number) is less likely than the correct one under the SFT policy.
    const better = PAIRS.filter((_, i) => inPage.chosen[i]! > inPage.rejected[i]!).length;
    expect(better).toBeGreaterThan(PAIRS.length / 2);
  });

  it("runs the default DPO run of uniform and sage with finite metrics", async () => {
    const result: PlaygroundResult = await page.evaluate(() => window.sagePlayground.run());
    expect(result.settings).toEqual({ ...DEFAULT_SETTINGS, selectors: ["uniform", "sage"] });
    expect(result.pool.pairs).toBeGreaterThan(DEFAULT_SETTINGS.batchSize);
    expect(result.runs.map((r) => r.selector)).toEqual(["uniform", "sage"]);
    for (const run of result.runs) {
      expect(run.steps).toHaveLength(DEFAULT_SETTINGS.steps);
      for (const record of run.steps) {
        for (const [k, v] of Object.entries(record))
          expect(Number.isFinite(v), `${run.selector} ${k}`).toBe(true);
        expect(record.skipped).toBe(0);
      }
      const { steps, evalEvery } = DEFAULT_SETTINGS;
      expect(run.passAt1.map((p) => p.step)).toEqual(
        Array.from({ length: Math.floor(steps / evalEvery) + 1 }, (_, i) => i * evalEvery),
      );
      for (const p of run.passAt1) {
        expect(p.value).toBeGreaterThanOrEqual(0);
        expect(p.value).toBeLessThanOrEqual(1);
      }
      expect(run.after).toHaveLength(result.before.length);
    }
    const sage = result.runs[1]!.steps;
    expect(sage.every((r) => typeof r["sage/frontier"] === "number")).toBe(true);
    expect(sage.every((r) => typeof r["sage/score_median"] === "number")).toBe(true);
    expect(await page.evaluate(() => window.sagePlayground.state)).toBe("done");
    expect(await page.textContent("#status")).toMatch(/^done: uniform pass@1/);
    console.log(
      `pool ${result.pool.pairs} pairs; ${result.runs.map((r) => `${r.selector}: pass@1 ${r.passAt1.map((p) => p.value.toFixed(2)).join(" → ")}`).join("; ")}`,
    );

    mkdirSync(outputDir, { recursive: true });
    const shot = join(outputDir, "playground.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    const assets = join(outDir, "assets");
    const sizes = Object.fromEntries(readdirSync(assets).map((f) => [f, statSync(join(assets, f)).size]));
    writeFileSync(join(outputDir, "bundle-sizes.json"), `${JSON.stringify(sizes, null, 2)}\n`);
  });

  it("logs no console error, uncaught exception or failed request", () => {
    expect(problems).toEqual([]);
  });
});
