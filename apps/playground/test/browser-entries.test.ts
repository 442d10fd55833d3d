/**
 * The packages' browser entries bundle for a browser with no Node built-in, and export everything
 * their main entries do except the file-system functions. Vite (rolldown) resolves every module the
 * entries reach, with the `browser` condition, and `noNodeBuiltins` fails the build on a Node
 * built-in; a control build importing `node:fs` shows that the check can fail. The export lists are
 * compared by name: every browser export is the main entry's own object, and the file-system names
 * below are on the main entry only.
 */
import { fileURLToPath } from "node:url";
import { build, defaultClientConditions, type Plugin } from "vite";
import { describe, expect, it } from "vitest";
import { isNodeBuiltin, noNodeBuiltins } from "../tools/no-node-builtins.js";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Every package that runs in a browser and the entry a browser gets (`.` under the `browser` condition). */
const BROWSER_PACKAGES = [
  "@sage/kernels-webgpu",
  "@sage/stability",
  "@sage/curriculum",
  "@sage/model",
  "@sage/eval-math",
  "@sage/trainer",
] as const;

function virtualEntry(code: string): Plugin {
  return {
    name: "virtual-entry",
    enforce: "pre",
    resolveId: (id) => (id.endsWith("virtual:entry") ? "\0virtual:entry" : null),
    load: (id) => (id === "\0virtual:entry" ? code : null),
  };
}

async function bundle(code: string): Promise<number> {
  const out = await build({
    root,
    configFile: false,
    logLevel: "silent",
    resolve: { conditions: ["@sage/source", ...defaultClientConditions] },
    plugins: [virtualEntry(code), noNodeBuiltins()],
    build: {
      write: false,
      lib: { entry: "virtual:entry", formats: ["es"], fileName: "entries" },
      rollupOptions: { external: [] },
    },
  });
  const outputs = (Array.isArray(out) ? out : [out]).flatMap((o) => ("output" in o ? o.output : []));
  return outputs.reduce((s, o) => s + ("code" in o ? o.code.length : 0), 0);
}

describe("browser entries", () => {
  it("bundle for a browser without any Node built-in", async () => {
    const code = BROWSER_PACKAGES.map((p, i) => `export * as p${i} from "${p}";`).join("\n");
    const bytes = await bundle(code);
    expect(bytes).toBeGreaterThan(100_000); // the packages' code is really in it (mathjs alone is more)
  });

  it("the check fails a bundle that imports a Node built-in (control)", async () => {
    await expect(
      bundle(`import { readFileSync } from "node:fs"; export const f = readFileSync;`),
    ).rejects.toThrow(/"node:fs" imported by .*expected no Node built-in/);
    await expect(bundle(`import { join } from "path"; export const j = join;`)).rejects.toThrow(
      /"path" imported by/,
    );
  });

  it("tells Node built-ins from packages", () => {
    expect(["node:fs", "fs", "fs/promises", "path", "crypto", "node:module"].every(isNodeBuiltin)).toBe(true);
    expect(["vite", "mathjs", "@sage/model", "zod", "./fs.js"].some(isNodeBuiltin)).toBe(false);
  });

  it("export everything of the main entry except the Node-only names", async () => {
    // What only the main (Node) entries export: reading or writing files.
    const NODE_ONLY: Record<string, readonly string[]> = {
      "@sage/model": [
        "SafetensorsFile",
        "loadModelDir",
        "loadTokenizer",
        "parseShardIndex",
        "saveModelDir",
        "writeFileAtomic",
        "writeSafetensorsFile",
      ],
      "@sage/eval-math": [
        "BENCHMARK_NAMES",
        "COT_INSTRUCTION",
        "buildPrompt",
        "equalPerturbations",
        "gsm8kPerturbationAgreement",
        "gsm8kPerturbations",
        "gsm8kReference",
        "loadBenchmark",
        "majorityCorrect",
        "math500SolutionAgreement",
        "mathCotAgreement",
        "mutateLastDigit",
        "passAtK",
        "perturbationRobustness",
        "reportedKs",
        "runBenchmark",
        "summarize",
        "toJsonl",
        "writeFileAtomic",
      ],
      "@sage/trainer": [
        "ABLATIONS",
        "ABLATION_METHODS",
        "CHAINS_BENCH_PLAN",
        "CHAINS_BENCH_QUICK_PLAN",
        "CHECKPOINT_FORMAT_VERSION",
        "CheckpointManager",
        "DESIGN_MINIMUMS",
        "FULL_METHODS",
        "FULL_SEEDS",
        "GATE_POINTS",
        "METHOD_NAMES",
        "MetricsLogger",
        "NOISE_METHODS",
        "NOISE_SEED",
        "NOISE_SHARE",
        "QUICK_METHODS",
        "QUICK_NOISE_METHODS",
        "QUICK_SEEDS",
        "RefLogProbCache",
        "SAGE_METRIC_NAMES",
        "SCORE_ONLY_NO_STABILITY",
        "SFT_CHOSEN",
        "StopController",
        "TRL_METRIC_NAMES",
        "TUNING_SEEDS",
        "atomicWriteFile",
        "atomicWriteJson",
        "checkDesign",
        "checkpointDirName",
        "convergenceDesign",
        "convergencePlan",
        "convergenceStudyName",
        "createProgress",
        "designFacts",
        "estimateMinutes",
        "evalRecordToPoint",
        "evalStepsOf",
        "exitCodeForSignal",
        "flipLabels",
        "fsyncDir",
        "gradientSnr",
        "interleavedOrder",
        "jsonStateProvider",
        "mergeCurriculum",
        "methodOf",
        "pairToJson",
        "parseMethodList",
        "parsePreferenceLine",
        "parseSeedList",
        "preferenceDataHash",
        "preferenceLineSchema",
        "readJsonlLines",
        "readManifest",
        "readMetrics",
        "readPreferencePairs",
        "readProblems",
        "readSftExamples",
        "runComparison",
        "runConvergenceStudy",
        "runDpo",
        "runSft",
        "sftConfigSchema",
        "sha256File",
        "silentProgress",
        "streamPreferencePairs",
        "verifyCheckpoint",
        "webGpuComparisonPolicies",
        "writePreferencePairs",
      ],
    };
    const entries = {
      "@sage/model": [await import("@sage/model"), await import("@sage/model/browser")],
      "@sage/eval-math": [await import("@sage/eval-math"), await import("@sage/eval-math/browser")],
      "@sage/trainer": [await import("@sage/trainer"), await import("@sage/trainer/browser")],
    } as const;
    for (const [name, [main, browser]] of Object.entries(entries)) {
      const mainKeys = new Set(Object.keys(main));
      const browserKeys = new Set(Object.keys(browser));
      expect(
        [...browserKeys].filter((k) => !mainKeys.has(k)),
        `${name}: browser-only exports`,
      ).toEqual([]);
      for (const k of Object.keys(browser)) {
        expect((browser as Record<string, unknown>)[k], `${name}: ${k} is the main entry's`).toBe(
          (main as Record<string, unknown>)[k],
        );
      }
      const nodeOnly = NODE_ONLY[name]!;
      expect(
        nodeOnly.filter((k) => !mainKeys.has(k)),
        `${name}: Node-only names the main entry lacks`,
      ).toEqual([]);
      expect(
        nodeOnly.filter((k) => browserKeys.has(k)),
        `${name}: Node-only names in the browser entry`,
      ).toEqual([]);
    }
  });
});
