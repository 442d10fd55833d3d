import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  CharTokenizer,
  createConfig,
  initWeights,
  loadModelDir,
  type ModelError,
  parameterSpecs,
  parseShardIndex,
  saveModelDir,
  serializeSafetensors,
  weightsFromTensors,
  weightsToTensors,
} from "../src/index.js";
import { codeOf } from "./helpers.js";

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "qwen2-tiny");
const tmp = mkdtempSync(join(tmpdir(), "sage-model-ckpt-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cfg = createConfig({
  hiddenSize: 8,
  intermediateSize: 12,
  numLayers: 2,
  numHeads: 2,
  numKvHeads: 1,
  vocabSize: 20,
});
const qcfg = createConfig({ ...cfg, modelType: "qwen2", tieWordEmbeddings: true });

describe("HF tensor names", () => {
  it("maps every parameter to its HF name and shape", () => {
    const names = parameterSpecs(qcfg).map((s) => `${s.name}:${s.shape.join("x")}`);
    expect(names).toContain("model.embed_tokens.weight:20x8");
    expect(names).toContain("model.layers.1.self_attn.q_proj.weight:8x8");
    expect(names).toContain("model.layers.1.self_attn.k_proj.weight:4x8");
    expect(names).toContain("model.layers.0.self_attn.v_proj.bias:4");
    expect(names).toContain("model.layers.0.self_attn.o_proj.weight:8x8");
    expect(names).toContain("model.layers.0.mlp.gate_proj.weight:12x8");
    expect(names).toContain("model.layers.0.mlp.down_proj.weight:8x12");
    expect(names).toContain("model.layers.0.input_layernorm.weight:8");
    expect(names).toContain("model.layers.0.post_attention_layernorm.weight:8");
    expect(names).toContain("model.norm.weight:8");
    expect(names.some((n) => n.startsWith("lm_head"))).toBe(false);
    expect(parameterSpecs(cfg).some((s) => s.name === "lm_head.weight")).toBe(true);
    expect(parameterSpecs(cfg).some((s) => s.name.endsWith(".bias"))).toBe(false);
  });

  it("missing, wrong-shape and unknown tensors are typed errors naming the tensor", () => {
    const w = initWeights(cfg, 1);
    const ts = weightsToTensors(cfg, w);
    const get = (list: typeof ts) => (n: string) => list.find((t) => t.name === n) as (typeof ts)[number];
    const without = ts.filter((t) => t.name !== "model.layers.1.mlp.up_proj.weight");
    let err: unknown;
    try {
      weightsFromTensors(
        cfg,
        without.map((t) => t.name),
        get(without),
      );
    } catch (e) {
      err = e;
    }
    expect((err as ModelError).code).toBe("TENSOR_MISSING");
    expect((err as ModelError).message).toContain("model.layers.1.mlp.up_proj.weight");
    const wrong = ts.map((t) => (t.name === "model.norm.weight" ? { ...t, shape: [4, 2] } : t));
    expect(
      codeOf(() =>
        weightsFromTensors(
          cfg,
          wrong.map((t) => t.name),
          get(wrong),
        ),
      ),
    ).toBe("TENSOR_SHAPE_MISMATCH");
    const extra = [
      ...ts,
      { name: "model.layers.0.self_attn.q_norm.weight", shape: [4], data: new Float32Array(4) },
    ];
    expect(
      codeOf(() =>
        weightsFromTensors(
          cfg,
          extra.map((t) => t.name),
          get(extra),
        ),
      ),
    ).toBe("TENSOR_UNEXPECTED");
    const inv = [
      ...ts,
      { name: "model.layers.0.self_attn.rotary_emb.inv_freq", shape: [2], data: new Float32Array(2) },
    ];
    expect(() =>
      weightsFromTensors(
        cfg,
        inv.map((t) => t.name),
        get(inv),
      ),
    ).not.toThrow();
  });
});

describe("model folders", () => {
  it("save → load round-trips F32 exactly, single-file and sharded, with the tokenizer", () => {
    const w = initWeights(qcfg, 3);
    const tok = CharTokenizer.fromTexts(["abcdefghijklmnop"]);
    for (const maxShardBytes of [undefined, 1000]) {
      const dir = join(tmp, `m-${maxShardBytes ?? "single"}`);
      saveModelDir(dir, qcfg, w, { tokenizer: tok, ...(maxShardBytes ? { maxShardBytes } : {}) });
      const files = readdirSync(dir);
      expect(files.some((f) => f.includes(".tmp-"))).toBe(false);
      if (maxShardBytes) {
        expect(files).toContain("model.safetensors.index.json");
        expect(files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length).toBeGreaterThan(2);
        const idx = JSON.parse(readFileSync(join(dir, "model.safetensors.index.json"), "utf8"));
        expect(idx.metadata.total_size).toBe(
          weightsToTensors(qcfg, w).reduce((a, t) => a + 4 * t.data.length, 0),
        );
      } else {
        expect(files).toContain("model.safetensors");
      }
      const back = loadModelDir(dir);
      expect(back.config).toEqual(qcfg);
      for (const s of parameterSpecs(qcfg)) expect(s.get(back.weights), s.name).toEqual(s.get(w));
      expect((back.tokenizer as CharTokenizer).chars).toEqual(tok.chars);
    }
  });

  it("saves BF16 (values rounded as bfloat16)", () => {
    const w = initWeights(cfg, 3);
    const dir = join(tmp, "bf16");
    saveModelDir(dir, cfg, w, { dtype: "BF16" });
    const back = loadModelDir(dir);
    const a = back.weights.embed;
    for (let i = 0; i < a.length; i++) {
      expect(Math.abs((a[i] as number) - (w.embed[i] as number))).toBeLessThanOrEqual(
        Math.abs(w.embed[i] as number) * 2 ** -8,
      );
    }
    expect(back.tokenizer).toBeUndefined();
  });

  it("reports a tokenizer larger than vocab_size, a bad index, and a missing shard", () => {
    const dir = join(tmp, "vocab");
    const w = initWeights(cfg, 3);
    const big = CharTokenizer.fromTexts(["abcdefghijklmnopqrstuvwxyz"]);
    expect(codeOf(() => saveModelDir(dir, cfg, w, { tokenizer: big }))).toBe("VOCAB_MISMATCH");
    saveModelDir(dir, cfg, w);
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(big.toJSON()));
    expect(codeOf(() => loadModelDir(dir))).toBe("VOCAB_MISMATCH");

    expect(codeOf(() => parseShardIndex({ weight_map: { a: "../evil.safetensors" } }))).toBe(
      "CHECKPOINT_INVALID",
    );
    expect(codeOf(() => parseShardIndex({ weight_map: { a: "/abs/x.safetensors" } }))).toBe(
      "CHECKPOINT_INVALID",
    );
    expect(codeOf(() => parseShardIndex({}))).toBe("CHECKPOINT_INVALID");

    const sh = join(tmp, "sharded");
    saveModelDir(sh, cfg, w, { maxShardBytes: 2000 });
    const shard = readdirSync(sh).find((f) => f.startsWith("model-00002"));
    rmSync(join(sh, shard as string));
    expect(codeOf(() => loadModelDir(sh))).toBe("CHECKPOINT_INVALID");
    expect(codeOf(() => loadModelDir(join(tmp, "nothing-here")))).toBe("CONFIG_INVALID");
  });

  it("loads a checkpoint whose tensors are stored as F16 and BF16 (computing in f32)", () => {
    const dir = join(tmp, "mixed");
    const w = initWeights(cfg, 8);
    saveModelDir(dir, cfg, w);
    const ts = weightsToTensors(cfg, w).map((t, i) => ({
      ...t,
      dtype: (i % 2 ? "F16" : "BF16") as "F16" | "BF16",
    }));
    writeFileSync(join(dir, "model.safetensors"), serializeSafetensors(ts));
    const back = loadModelDir(dir);
    const q = back.weights.layers[0]?.q as Float32Array;
    const q0 = w.layers[0]?.q as Float32Array;
    for (let i = 0; i < q.length; i++)
      expect(Math.abs((q[i] as number) - (q0[i] as number))).toBeLessThan(0.01);
  });

  it("loads the Python-written fixture folder and can re-save it", () => {
    const m = loadModelDir(FIXTURE);
    const dir = join(tmp, "fixture-copy");
    saveModelDir(dir, m.config, m.weights, m.tokenizer ? { tokenizer: m.tokenizer } : {});
    copyFileSync(join(FIXTURE, "config.json"), join(dir, "config.json"));
    const back = loadModelDir(dir);
    for (const s of parameterSpecs(m.config)) expect(s.get(back.weights)).toEqual(s.get(m.weights));
    expect(existsSync(join(dir, "model.safetensors"))).toBe(true);
  });
});
