import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  atomicWriteFile,
  CheckpointManager,
  checkpointDirName,
  jsonStateProvider,
  type StateProvider,
  TrainerError,
  verifyCheckpoint,
} from "../src/index.js";
import { tempDir } from "./helpers/data.js";

function binaryProvider(name: string, state: { bytes: Uint8Array }): StateProvider {
  return {
    name,
    save: (dir) => writeFile(join(dir, "weights.bin"), state.bytes),
    load: async (dir) => {
      state.bytes = new Uint8Array(await readFile(join(dir, "weights.bin")));
    },
  };
}

describe("atomicWriteFile", () => {
  it("replaces the file in one step and leaves no temp files", async () => {
    const dir = await tempDir();
    const path = join(dir, "sub", "f.txt");
    await atomicWriteFile(path, "one");
    await atomicWriteFile(path, "two");
    expect(await readFile(path, "utf8")).toBe("two");
    expect(await readdir(join(dir, "sub"))).toEqual(["f.txt"]);
  });
});

describe("CheckpointManager", () => {
  it("saves providers with a manifest of hashes and loads them back", async () => {
    const dir = await tempDir();
    const mgr = new CheckpointManager(dir);
    const model = { bytes: Uint8Array.from([1, 2, 3, 250]) };
    let sel = { pool: [3, 1, 2], mu: [-0.1, 1e-300] };
    const providers = [
      binaryProvider("policy", model),
      jsonStateProvider(
        "selector",
        () => sel,
        (s) => (sel = s),
      ),
    ];
    const path = await mgr.save(12, providers, { note: "x" });
    expect(path.endsWith(checkpointDirName(12))).toBe(true);
    const manifest = await verifyCheckpoint(path);
    expect(manifest.formatVersion).toBe(1);
    expect(manifest.step).toBe(12);
    expect(Object.keys(manifest.files).sort()).toEqual(["policy/weights.bin", "selector/state.json"]);
    expect(manifest.files["policy/weights.bin"]!.bytes).toBe(4);
    expect(JSON.parse(await readFile(join(dir, "LATEST"), "utf8"))).toEqual({
      step: 12,
      dir: "step-00000012",
    });

    model.bytes = new Uint8Array();
    sel = { pool: [], mu: [] };
    const latest = await mgr.latest();
    expect(latest?.manifest.step).toBe(12);
    await mgr.load(latest!.path, providers);
    expect(Array.from(model.bytes)).toEqual([1, 2, 3, 250]);
    expect(sel).toEqual({ pool: [3, 1, 2], mu: [-0.1, 1e-300] });
  });

  it("detects a tampered or missing file, and a provider absent from the checkpoint", async () => {
    const dir = await tempDir();
    const mgr = new CheckpointManager(dir);
    const model = { bytes: Uint8Array.from([9, 9]) };
    const path = await mgr.save(1, [binaryProvider("policy", model)]);
    await writeFile(join(path, "policy", "weights.bin"), Uint8Array.from([9, 8]));
    await expect(mgr.load(path, [binaryProvider("policy", model)])).rejects.toMatchObject({
      code: "CHECKPOINT_HASH_MISMATCH",
    });
    const path2 = await mgr.save(2, [binaryProvider("policy", model)]);
    await expect(mgr.load(path2, [binaryProvider("optimizer", model)])).rejects.toMatchObject({
      code: "CHECKPOINT_INVALID",
    });
    await rm(join(path2, "policy", "weights.bin"));
    await expect(verifyCheckpoint(path2)).rejects.toThrow(/missing/);
  });

  it("keeps the last N checkpoints and falls back to a scan when LATEST is gone", async () => {
    const dir = await tempDir();
    const mgr = new CheckpointManager(dir, { keepLast: 2 });
    const p = jsonStateProvider(
      "s",
      () => 1,
      () => {},
    );
    for (const step of [5, 10, 15]) await mgr.save(step, [p]);
    expect(await mgr.list()).toEqual([10, 15]);
    await rm(join(dir, "LATEST"));
    expect((await mgr.latest())?.manifest.step).toBe(15);
    expect(() => new CheckpointManager(dir, { keepLast: 0 })).toThrow(TrainerError);
  });

  it("a failed save leaves the previous checkpoint intact and no temp folders", async () => {
    const dir = await tempDir();
    const mgr = new CheckpointManager(dir);
    await mgr.save(3, [
      jsonStateProvider(
        "s",
        () => ({ ok: true }),
        () => {},
      ),
    ]);
    const failing: StateProvider = {
      name: "s",
      save: async (d) => {
        await writeFile(join(d, "partial"), "half");
        throw new Error("disk full");
      },
      load: async () => {},
    };
    await expect(mgr.save(4, [failing])).rejects.toThrow("disk full");
    expect(await readdir(dir)).toEqual(["LATEST", "step-00000003"]);
    expect((await mgr.latest())?.manifest.step).toBe(3);
  });

  it("rejects bad provider names, duplicates and negative steps", async () => {
    const mgr = new CheckpointManager(await tempDir());
    const p = jsonStateProvider(
      "Bad Name",
      () => 1,
      () => {},
    );
    await expect(mgr.save(1, [p])).rejects.toMatchObject({ code: "CHECKPOINT_INVALID" });
    const q = jsonStateProvider(
      "a",
      () => 1,
      () => {},
    );
    await expect(mgr.save(1, [q, q])).rejects.toMatchObject({ code: "CHECKPOINT_INVALID" });
    await expect(mgr.save(-1, [q])).rejects.toMatchObject({ code: "CHECKPOINT_INVALID" });
  });
});
