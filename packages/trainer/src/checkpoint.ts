import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { z } from "zod";
import { atomicWriteFile, atomicWriteJson, fsyncDir } from "./atomic.js";
import { describeValue, TrainerError } from "./errors.js";
import { sha256File } from "./hash-file.js";

/**
 * A part of the training state that knows how to save itself into a folder and load itself
 * back (the policy's tensors through the model package's own save function, the optimiser,
 * the selector, the RNG). The checkpoint manager gives each provider its own empty folder,
 * hashes whatever files it wrote, and verifies those hashes before `load`.
 */
export interface StateProvider {
  /** Folder name inside the checkpoint: lowercase letters, digits, `-` and `_`. */
  readonly name: string;
  save(dir: string): Promise<void>;
  load(dir: string): Promise<void>;
}

/** A provider that stores `get()` as `state.json` and hands the parsed value to `set` on load. */
export function jsonStateProvider<T>(name: string, get: () => T, set: (value: T) => void): StateProvider {
  return {
    name,
    async save(dir) {
      await atomicWriteJson(join(dir, "state.json"), get());
    },
    async load(dir) {
      set(JSON.parse(await readFile(join(dir, "state.json"), "utf8")) as T);
    },
  };
}

/** Version of the checkpoint layout below; bumped on any incompatible change. */
export const CHECKPOINT_FORMAT_VERSION = 1;

const manifestSchema = z.object({
  formatVersion: z.literal(CHECKPOINT_FORMAT_VERSION),
  step: z.number().int().min(0),
  createdAt: z.string(),
  providers: z.array(z.string()),
  files: z.record(
    z.string(),
    z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().min(0) }),
  ),
  meta: z.record(z.string(), z.unknown()),
});

/** `manifest.json` of a checkpoint: format version, step, and the SHA-256 and size of every file. */
export type CheckpointManifest = z.infer<typeof manifestSchema>;

export interface CheckpointInfo {
  readonly path: string;
  readonly manifest: CheckpointManifest;
}

const STEP_DIR = /^step-(\d{8,})$/;
const PROVIDER_NAME = /^[a-z0-9_-]+$/;

/** Folder name of the checkpoint at `step`: `step-00000120`. */
export function checkpointDirName(step: number): string {
  return `step-${String(step).padStart(8, "0")}`;
}

async function listFiles(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(root, full)));
    else if (entry.isFile()) out.push(relative(root, full).split(sep).join("/"));
    else {
      throw new TrainerError("CHECKPOINT_INVALID", `checkpoint files must be plain files; ${full} is not`);
    }
  }
  return out.sort();
}

async function fsyncFile(path: string): Promise<void> {
  const h = await open(path, "r+");
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

async function fsyncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await fsyncTree(join(dir, entry.name));
  }
  await fsyncDir(dir);
}

export interface CheckpointManagerOptions {
  /** Keep only the newest `keepLast` checkpoints (default 2; at least 1). */
  readonly keepLast?: number;
}

/**
 * Checkpoints under one folder:
 *
 *     <dir>/step-00000120/manifest.json      format version, step, hashes of all files, meta
 *     <dir>/step-00000120/<provider>/...     what each state provider wrote
 *     <dir>/LATEST                            {"step":120,"dir":"step-00000120"}
 *
 * A checkpoint is written in a temp folder, every file fsynced and hashed, then the folder is
 * renamed into place and `LATEST` replaced atomically: a crash at any point leaves the previous
 * checkpoint intact and `LATEST` pointing at a complete one. One writer per folder.
 */
export class CheckpointManager {
  readonly dir: string;
  readonly keepLast: number;

  constructor(dir: string, options: CheckpointManagerOptions = {}) {
    const keepLast = options.keepLast ?? 2;
    if (!Number.isInteger(keepLast) || keepLast < 1) {
      throw new TrainerError(
        "CONFIG_INVALID",
        `keepLast must be an integer ≥ 1; received ${describeValue(keepLast)}`,
      );
    }
    this.dir = dir;
    this.keepLast = keepLast;
  }

  /** Save all providers as the checkpoint of `step`; returns its folder. */
  async save(
    step: number,
    providers: readonly StateProvider[],
    meta: Record<string, unknown> = {},
  ): Promise<string> {
    if (!Number.isInteger(step) || step < 0) {
      throw new TrainerError(
        "CHECKPOINT_INVALID",
        `checkpoint step must be an integer ≥ 0; received ${describeValue(step)}`,
      );
    }
    const names = new Set<string>();
    for (const p of providers) {
      if (!PROVIDER_NAME.test(p.name) || names.has(p.name)) {
        throw new TrainerError(
          "CHECKPOINT_INVALID",
          `state provider names must be unique and match ${PROVIDER_NAME}; received ${describeValue(p.name)}`,
        );
      }
      names.add(p.name);
    }
    await mkdir(this.dir, { recursive: true });
    await this.#removeStaleTemps();
    const name = checkpointDirName(step);
    const tmp = join(this.dir, `.tmp-${name}-${process.pid}-${randomBytes(4).toString("hex")}`);
    await mkdir(tmp);
    try {
      for (const p of providers) {
        const sub = join(tmp, p.name);
        await mkdir(sub);
        await p.save(sub);
      }
      const files: CheckpointManifest["files"] = {};
      for (const rel of await listFiles(tmp)) {
        const full = join(tmp, rel);
        await fsyncFile(full);
        files[rel] = { sha256: await sha256File(full), bytes: (await stat(full)).size };
      }
      const manifest: CheckpointManifest = {
        formatVersion: CHECKPOINT_FORMAT_VERSION,
        step,
        createdAt: new Date().toISOString(),
        providers: providers.map((p) => p.name),
        files,
        meta,
      };
      await atomicWriteJson(join(tmp, "manifest.json"), manifest);
      await fsyncTree(tmp);
      const final = join(this.dir, name);
      if (await exists(final)) {
        const trash = join(this.dir, `.tmp-old-${name}-${process.pid}-${randomBytes(4).toString("hex")}`);
        await rename(final, trash);
        await rename(tmp, final);
        await rm(trash, { recursive: true, force: true });
      } else {
        await rename(tmp, final);
      }
      await fsyncDir(this.dir);
      await atomicWriteFile(join(this.dir, "LATEST"), `${JSON.stringify({ step, dir: name })}\n`);
      await this.#prune(step);
      return final;
    } catch (error) {
      await rm(tmp, { recursive: true, force: true });
      throw error;
    }
  }

  /** Steps of the complete checkpoints present (those with a manifest), ascending. */
  async list(): Promise<number[]> {
    if (!(await exists(this.dir))) return [];
    const steps: number[] = [];
    for (const entry of await readdir(this.dir)) {
      const m = STEP_DIR.exec(entry);
      if (m && (await exists(join(this.dir, entry, "manifest.json")))) steps.push(Number(m[1]));
    }
    return steps.sort((a, b) => a - b);
  }

  /** The newest complete checkpoint (from `LATEST`, else by scanning), or undefined when none. */
  async latest(): Promise<CheckpointInfo | undefined> {
    try {
      const pointer = JSON.parse(await readFile(join(this.dir, "LATEST"), "utf8")) as { dir?: unknown };
      if (typeof pointer.dir === "string" && STEP_DIR.test(pointer.dir)) {
        const path = join(this.dir, pointer.dir);
        return { path, manifest: await readManifest(path) };
      }
    } catch {
      // fall through to a scan: LATEST missing or pointing at something unreadable
    }
    const steps = await this.list();
    const last = steps.at(-1);
    if (last === undefined) return undefined;
    const path = join(this.dir, checkpointDirName(last));
    return { path, manifest: await readManifest(path) };
  }

  /**
   * Verify every file hash of the checkpoint at `path`, then load each provider from its folder.
   * Throws `CHECKPOINT_HASH_MISMATCH` on a changed/missing file and `CHECKPOINT_INVALID` when a
   * provider has no folder in the checkpoint.
   */
  async load(path: string, providers: readonly StateProvider[]): Promise<CheckpointManifest> {
    const manifest = await verifyCheckpoint(path);
    for (const p of providers) {
      if (!manifest.providers.includes(p.name)) {
        throw new TrainerError(
          "CHECKPOINT_INVALID",
          `${path}: expected state of provider "${p.name}"; checkpoint has ${describeValue(manifest.providers)}`,
        );
      }
      await p.load(join(path, p.name));
    }
    return manifest;
  }

  async #prune(newest: number): Promise<void> {
    const steps = (await this.list()).filter((s) => s <= newest);
    const drop = steps.slice(0, Math.max(0, steps.length - this.keepLast));
    for (const s of drop) await rm(join(this.dir, checkpointDirName(s)), { recursive: true, force: true });
  }

  async #removeStaleTemps(): Promise<void> {
    for (const entry of await readdir(this.dir)) {
      if (entry.startsWith(".tmp-")) await rm(join(this.dir, entry), { recursive: true, force: true });
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Read and validate `manifest.json` of the checkpoint at `path`. */
export async function readManifest(path: string): Promise<CheckpointManifest> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(path, "manifest.json"), "utf8"));
  } catch (error) {
    throw new TrainerError(
      "CHECKPOINT_MISSING",
      `${path}: no readable manifest.json (${(error as Error).message})`,
    );
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TrainerError(
      "CHECKPOINT_INVALID",
      `${path}/manifest.json: field "${issue.path.join(".")}": ${issue.message} (format version ${CHECKPOINT_FORMAT_VERSION} expected)`,
    );
  }
  return parsed.data;
}

/** Check every file of a checkpoint against its manifest hash; returns the manifest. */
export async function verifyCheckpoint(path: string): Promise<CheckpointManifest> {
  const manifest = await readManifest(path);
  for (const [rel, expected] of Object.entries(manifest.files)) {
    const full = join(path, rel);
    let actual: string;
    try {
      actual = await sha256File(full);
    } catch {
      throw new TrainerError(
        "CHECKPOINT_HASH_MISMATCH",
        `${path}: file ${rel} listed in the manifest is missing`,
      );
    }
    if (actual !== expected.sha256) {
      throw new TrainerError(
        "CHECKPOINT_HASH_MISMATCH",
        `${path}: file ${rel} has sha256 ${actual.slice(0, 16)}…, manifest expects ${expected.sha256.slice(0, 16)}…`,
      );
    }
  }
  return manifest;
}
