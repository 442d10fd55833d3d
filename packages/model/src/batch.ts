/**
 * Token batches: rectangular `[B][T]` token ids with an attention mask (1 = real token, 0 = pad)
 * and, for scoring, a response mask (1 = this token's log-prob counts).
 *
 * Positions follow the mask: the position of a real token is the number of real tokens before it
 * (what HF `generate` passes as `position_ids`), so left and right padding give the same numbers.
 */
import type { ModelConfig } from "./config.js";
import { ModelError, show } from "./errors.js";

export interface TokenBatch {
  /** `[B][T]` token ids; all rows have the same length. */
  readonly tokens: readonly (readonly number[])[];
  /** `[B][T]`, 1 = real token, 0 = padding (default: all real). */
  readonly attentionMask?: readonly (readonly number[])[];
}

export interface ScoredBatch extends TokenBatch {
  /**
   * `[B][T]`, 1 = the log-probability of this token (given the ones before it) is part of the
   * sequence log-prob. Position 0 can never be scored; scored tokens must be real tokens.
   */
  readonly responseMask: readonly (readonly number[])[];
}

export interface PromptResponse {
  readonly prompt: readonly number[];
  readonly response: readonly number[];
}

/** Validate shapes and ids; returns `[B, T]`. */
export function checkBatch(c: ModelConfig, batch: TokenBatch | ScoredBatch): [number, number] {
  const B = batch.tokens.length;
  if (B === 0) throw new ModelError("INPUT_INVALID", "batch has no rows");
  const T = batch.tokens[0]?.length ?? 0;
  if (T === 0) throw new ModelError("INPUT_INVALID", "batch rows are empty");
  if (T > c.maxPositionEmbeddings) {
    throw new ModelError(
      "SEQUENCE_TOO_LONG",
      `sequence length ${T} exceeds max_position_embeddings ${c.maxPositionEmbeddings}`,
    );
  }
  const rows = (m: readonly (readonly number[])[] | undefined, what: string) => {
    if (!m) return;
    if (m.length !== B) throw new ModelError("INPUT_INVALID", `${what} has ${m.length} rows, expected ${B}`);
    for (const r of m) {
      if (r.length !== T)
        throw new ModelError("INPUT_INVALID", `${what} row has length ${r.length}, expected ${T}`);
      for (const v of r)
        if (v !== 0 && v !== 1)
          throw new ModelError("INPUT_INVALID", `${what} entries must be 0 or 1, received ${show(v)}`);
    }
  };
  for (const r of batch.tokens) {
    if (r.length !== T)
      throw new ModelError("INPUT_INVALID", `token rows must all have length ${T}, received ${r.length}`);
    for (const id of r) {
      if (!Number.isSafeInteger(id) || id < 0 || id >= c.vocabSize) {
        throw new ModelError("INPUT_INVALID", `token id ${show(id)} outside [0, ${c.vocabSize})`);
      }
    }
  }
  rows(batch.attentionMask, "attentionMask");
  if ("responseMask" in batch) {
    rows(batch.responseMask, "responseMask");
    for (let b = 0; b < B; b++) {
      const rm = batch.responseMask[b] as readonly number[];
      if (rm[0] === 1)
        throw new ModelError("INPUT_INVALID", `responseMask[${b}][0] = 1: the first token has no log-prob`);
      for (let t = 0; t < T; t++) {
        if (rm[t] === 1 && (batch.attentionMask?.[b]?.[t] ?? 1) === 0) {
          throw new ModelError("INPUT_INVALID", `responseMask[${b}][${t}] = 1 on a padding token`);
        }
      }
    }
  }
  return [B, T];
}

/** Position ids from the attention mask (count of real tokens before; 0 on padding). */
export function positionIds(batch: TokenBatch): number[][] {
  return batch.tokens.map((row, b) => {
    const m = batch.attentionMask?.[b];
    let n = 0;
    return row.map((_, t) => {
      const real = (m?.[t] ?? 1) === 1;
      const p = real ? n : Math.max(0, n - 1);
      if (real) n++;
      return p;
    });
  });
}

/**
 * Pack `(prompt, response)` pairs into a scored batch: tokens = prompt ++ response, padded with
 * `padId` on the right (default) or left, response-only mask.
 */
export function packPromptResponse(
  pairs: readonly PromptResponse[],
  padId: number,
  side: "right" | "left" = "right",
): ScoredBatch {
  if (pairs.length === 0) throw new ModelError("INPUT_INVALID", "no (prompt, response) pairs");
  const T = Math.max(...pairs.map((p) => p.prompt.length + p.response.length));
  const tokens: number[][] = [];
  const attentionMask: number[][] = [];
  const responseMask: number[][] = [];
  for (const [i, p] of pairs.entries()) {
    if (p.prompt.length === 0)
      throw new ModelError("INPUT_INVALID", `pair ${i}: empty prompt (the first token cannot be scored)`);
    const n = p.prompt.length + p.response.length;
    const pad = T - n;
    const seq = [...p.prompt, ...p.response];
    const am = seq.map(() => 1);
    const rm = [...p.prompt.map(() => 0), ...p.response.map(() => 1)];
    const padT = new Array<number>(pad).fill(padId);
    const zeros = new Array<number>(pad).fill(0);
    if (side === "right") {
      tokens.push([...seq, ...padT]);
      attentionMask.push([...am, ...zeros]);
      responseMask.push([...rm, ...zeros]);
    } else {
      tokens.push([...padT, ...seq]);
      attentionMask.push([...zeros, ...am]);
      responseMask.push([...zeros, ...rm]);
    }
  }
  return { tokens, attentionMask, responseMask };
}
