import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type MetricsRecord,
  readMetrics,
  readSftExamples,
  runSft,
  type SftExample,
  StopController,
} from "../src/index.js";
import { synthPairs, tempDir } from "./helpers/data.js";
import { ToyPolicy } from "./helpers/toy-policy.js";

const quiet = () => {};
const examples: SftExample[] = synthPairs(40).map((p) => ({
  id: p.id,
  prompt: p.prompt,
  completion: p.chosen,
}));
const CONFIG = { steps: 20, batchSize: 6, learningRate: 0.05, seed: 2, checkpointEvery: 4 };

function noTime(records: MetricsRecord[]): MetricsRecord[] {
  return records.map((r) =>
    Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith("time/"))),
  ) as MetricsRecord[];
}

describe("readSftExamples", () => {
  it("reads prompt/completion and messages (last message = completion), naming file, line and field on errors", async () => {
    const dir = await tempDir();
    const path = join(dir, "sft.jsonl");
    await writeFile(
      path,
      [
        JSON.stringify({ prompt: "2+2=", completion: "4" }),
        JSON.stringify({
          id: "m",
          messages: [
            { role: "user", content: "hi" },
            { role: "assistant", content: "hello" },
          ],
        }),
      ].join("\n"),
    );
    expect(await readSftExamples(path)).toEqual([
      { id: "line:1", prompt: "2+2=", completion: "4" },
      {
        id: "m",
        prompt: "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
        completion: "hello<|im_end|>\n",
      },
    ]);
    await writeFile(
      path,
      `${JSON.stringify({ prompt: "x", completion: "y" })}\n${JSON.stringify({ prompt: "x" })}\n`,
    );
    await expect(readSftExamples(path)).rejects.toThrow(/sft\.jsonl:2: field "completion"/);
    await writeFile(
      path,
      JSON.stringify({
        messages: [
          { role: "user", content: "a" },
          { role: "user", content: "b" },
        ],
      }),
    );
    await expect(readSftExamples(path)).rejects.toThrow(
      /sft\.jsonl:1: field "messages": expected the last message/,
    );
  });
});

describe("runSft", () => {
  it("lowers the completion NLL and resumes bit for bit", async () => {
    const dir = await tempDir();
    const straightPolicy = new ToyPolicy({ dim: 16 });
    const straight = await runSft({
      config: CONFIG,
      policy: straightPolicy,
      examples,
      runDir: join(dir, "a"),
      log: quiet,
    });
    expect(straight.status).toBe("completed");
    const m = await readMetrics(straight.metricsPath);
    expect(m.map((r) => r.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // Measured: per-token NLL 0.72, 0.66 at steps 1–2 (≈ ln 2: logits near 0), 0.41, 0.44 at
    // steps 19–20; the threshold leaves ~0.3 of slack.
    const first = (m[0]!.loss as number) + (m[1]!.loss as number);
    const last = (m[18]!.loss as number) + (m[19]!.loss as number);
    expect(last).toBeLessThan(first - 0.2);

    const stop = new StopController();
    await runSft({
      config: CONFIG,
      policy: new ToyPolicy({ dim: 16 }),
      examples,
      runDir: join(dir, "b"),
      stop,
      onStep: (r) => {
        if (r.step === 7) stop.request("test");
      },
      log: quiet,
    });
    const resumed = new ToyPolicy({ dim: 16, seed: 8 });
    const r2 = await runSft({
      config: CONFIG,
      policy: resumed,
      examples,
      runDir: join(dir, "b"),
      resume: true,
      log: quiet,
    });
    expect(r2).toMatchObject({ status: "completed", resumedFrom: 7 });
    expect(noTime(await readMetrics(r2.metricsPath))).toEqual(noTime(m));
    expect(Array.from(resumed.theta)).toEqual(Array.from(straightPolicy.theta));
  });

  it("rejects bad config fields and a changed config on resume", async () => {
    const dir = await tempDir();
    await expect(
      runSft({ config: { steps: 0 }, policy: new ToyPolicy(), examples, runDir: dir, log: quiet }),
    ).rejects.toThrow(/field "steps"/);
    await runSft({
      config: { ...CONFIG, steps: 2 },
      policy: new ToyPolicy(),
      examples,
      runDir: dir,
      log: quiet,
    });
    await expect(
      runSft({
        config: { ...CONFIG, steps: 3, batchSize: 3 },
        policy: new ToyPolicy(),
        examples,
        runDir: dir,
        resume: true,
        log: quiet,
      }),
    ).rejects.toThrow(/batchSize: checkpoint has 6, config has 3/);
  });
});
