import {
  checkVocab,
  type LoadedModel,
  parseHfConfig,
  parseSafetensors,
  tokenizerFromJSON,
  weightsFromTensors,
} from "@sage/model";
import { PlaygroundError } from "./errors.js";

/**
 * Load a Hugging Face model folder served at `baseUrl` (`config.json`, `model.safetensors`,
 * `tokenizer.json`) with `@sage/model`'s byte-based parsers: the same checks as `loadModelDir` in Node.
 */
export async function fetchModel(baseUrl: string, fetcher: typeof fetch = fetch): Promise<LoadedModel> {
  const get = async (name: string): Promise<Response> => {
    const url = `${baseUrl.replace(/\/$/, "")}/${name}`;
    const r = await fetcher(url);
    if (!r.ok) throw new PlaygroundError("FETCH_FAILED", `${url}: expected HTTP 200`, r.status);
    return r;
  };
  const [configJson, bytes, tokenizerJson] = await Promise.all([
    get("config.json").then((r) => r.json() as Promise<unknown>),
    get("model.safetensors").then((r) => r.arrayBuffer()),
    get("tokenizer.json").then((r) => r.json() as Promise<unknown>),
  ]);
  const config = parseHfConfig(configJson);
  const file = parseSafetensors(new Uint8Array(bytes));
  const weights = weightsFromTensors(config, [...file.header.tensors.keys()], (name) => file.tensor(name));
  const tokenizer = tokenizerFromJSON(tokenizerJson);
  checkVocab(tokenizer, config);
  return { config, weights, tokenizer };
}
