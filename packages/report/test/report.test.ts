import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type ReportInput, resolveFont, summarizeRuns, writeReport } from "../src/index.js";
import { syntheticRuns } from "./synthetic.js";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const dirs: string[] = [];
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), "sage-report-"));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const EVIL = `<img src=x onerror="alert('m')">&`;

function input(): ReportInput {
  const runs = syntheticRuns([1, 2]);
  // a user-chosen method name with markup in it
  for (const r of runs) if (r.method === "hard-mining") r.method = EVIL;
  return {
    title: "Convergence <b>benchmark</b>",
    adapter: "llvmpipe (LLVM 15.0.6, 256 bits) & lavapipe",
    machine: "2-core x86_64, Debian 12",
    config: { steps: 200, selector: "</pre><script>alert(1)</script>" },
    runs,
    target: 0.45,
    notes: "seeds 1–2 <synthetic>",
  };
}

function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: v.getUint32(16), height: v.getUint32(20) }; // IHDR follows the signature
}

describe("writeReport", () => {
  it("writes html, one valid PNG per chart and the summary JSON, leaving no temp files", async () => {
    const dir = await tempDir();
    const out = await writeReport(input(), join(dir, "nested", "out"));
    expect(out.pngs.map((p) => p.slice(p.lastIndexOf("/") + 1))).toEqual([
      "accuracy-steps.png",
      "accuracy-wall.png",
      "strata-steps.png",
      "frontier.png",
      "snr.png",
    ]);
    for (const p of out.pngs) {
      const bytes = new Uint8Array(await readFile(p));
      expect(Array.from(bytes.subarray(0, 8))).toEqual(PNG_SIGNATURE);
      const { width, height } = pngSize(bytes);
      expect(width).toBeGreaterThan(400);
      expect(height).toBeGreaterThan(200);
    }
    const files = await readdir(join(dir, "nested", "out"));
    expect(files.filter((f) => f.includes(".tmp-"))).toEqual([]);
    expect(files.sort()).toEqual(
      [...out.pngs.map((p) => p.slice(p.lastIndexOf("/") + 1)), "report.html", "report.json"].sort(),
    );

    const json = JSON.parse(await readFile(out.json, "utf8"));
    expect(json.summary).toEqual(summarizeRuns(input().runs, { target: 0.45 }));
    expect(json.verdict).toBe(out.verdict);
    expect(json.adapter).toBe(input().adapter);
  });

  it("escapes every user string in the HTML and has no script or network reference", async () => {
    const out = await writeReport(input(), await tempDir(), { png: false });
    expect(out.pngs).toEqual([]);
    const html = await readFile(out.html, "utf8");
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<b>benchmark");
    expect(html).toContain("<title>Convergence &lt;b&gt;benchmark&lt;/b&gt;</title>");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(&#39;m&#39;)&quot;&gt;&amp;"); // table and verdict
    expect(html).toContain("&lt;/pre&gt;&lt;script&gt;"); // config
    expect(html).toContain("seeds 1–2 &lt;synthetic&gt;");
    expect(html).toContain("llvmpipe (LLVM 15.0.6, 256 bits) &amp; lavapipe");
    // only SVG/XLink namespace URIs, no fetchable reference
    const urls = html.match(/(?:https?:)?\/\/[^\s"')<]+/g) ?? [];
    expect(new Set(urls)).toEqual(new Set(["http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"]));
    expect(html).not.toMatch(/\s(?:src|href)="(?!#)/);
    // five inline charts, ids unique across them
    expect(html.match(/<svg /g)).toHaveLength(5);
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("is deterministic: the same input gives byte-identical files", async () => {
    const a = await writeReport(input(), await tempDir());
    const b = await writeReport(input(), await tempDir());
    for (const [x, y] of [[a.html, b.html], [a.json, b.json], ...a.pngs.map((p, i) => [p, b.pngs[i]!])] as [
      string,
      string,
    ][]) {
      expect(Buffer.compare(await readFile(x), await readFile(y)), `${x} vs ${y}`).toBe(0);
    }
  });

  it("still writes the report, with a warning, when no font is available", async () => {
    const warnings: string[] = [];
    const out = await writeReport(input(), await tempDir(), {
      font: { search: false, system: false },
      onWarning: (m) => warnings.push(m),
    });
    expect(out.warnings).toEqual(warnings);
    expect(warnings[0]).toMatch(
      /no font loaded: the PNG charts are drawn without any text.*fonts-dejavu-core/,
    );
    for (const p of out.pngs) expect(Array.from((await readFile(p)).subarray(0, 8))).toEqual(PNG_SIGNATURE);
  });

  it("draws chart text with the font it finds (needs DejaVu Sans or Arial: apt-get install fonts-dejavu-core)", async () => {
    const font = resolveFont();
    expect(font.warning, "no font file found; install fonts-dejavu-core (Debian/Ubuntu)").toBeNull();
    const withFont = await writeReport(input(), await tempDir(), { font: { search: true } });
    const noFont = await writeReport(input(), await tempDir(), { font: { search: false, system: false } });
    const [a, b] = [await readFile(withFont.pngs[0]!), await readFile(noFont.pngs[0]!)];
    // same geometry, but the text adds pixels: the encoded images must differ and the texted one be larger
    expect(pngSize(a)).toEqual(pngSize(b));
    expect(a.length).toBeGreaterThan(b.length * 1.2);
  });

  it("rejects a non-string title and a config that is not JSON", async () => {
    const dir = await tempDir();
    await expect(writeReport({ ...input(), title: 1 as unknown as string }, dir)).rejects.toThrow(
      /ReportInput.title: expected a string, received 1/,
    );
    await expect(writeReport({ ...input(), config: { n: 1n } }, dir, { png: false })).rejects.toMatchObject({
      code: "INPUT_INVALID",
    });
  });
});
