#!/usr/bin/env python3
"""Write a tiny random Qwen2-style checkpoint and its outputs, computed by an independent PyTorch
implementation, to packages/model/test/fixtures/qwen2-tiny/.

Run by hand (not in CI), from the repository root:

    /usr/bin/python3 packages/model/scripts/make-fixture.py

Needs PyTorch (Debian: `apt-get install python3-torch`). `transformers` is NOT required: the model
below is a line-by-line transcription of Hugging Face's `modeling_qwen2.py` (RMSNorm, rotate_half
RoPE, GQA via repeat_kv, SwiGLU MLP, tied embeddings) in float64. When `transformers` happens to be
installed, the script also runs `Qwen2ForCausalLM` on the same weights and checks it agrees.
`safetensors` is not required either: the file is written by the small writer below (and read back
with `safetensors.torch.load_file` when that package is installed).

Outputs (FORMAT_VERSION 1):
  config.json, model.safetensors (F32), tokenizer.json (character-level, BPE without merges),
  expected.json: inputs (tokens, attention_mask, response_mask, position_ids), logits [B,T,V],
  token log-probs [B,T], sequence log-probs [B], and the gradient of
  L = sum_b loss_weights[b] * seq_logprob[b] for every parameter (HF names).
"""

import json
import math
import os
import struct
import sys

import torch

FORMAT_VERSION = 1
SEED = 1234
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "qwen2-tiny")

ALPHABET = list("abcdefghijklmnopqrstuvwxyz .,!?")
SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]

CONFIG = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "hidden_size": 16,
    "intermediate_size": 40,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 40,  # larger than the tokenizer (35): embedding padded, as real models do
    "rms_norm_eps": 1e-6,
    "rope_theta": 1000000.0,
    "tie_word_embeddings": True,
    "max_position_embeddings": 64,
    "hidden_act": "silu",
    "use_sliding_window": False,
    "sliding_window": 4096,
    "max_window_layers": 2,
    "attention_dropout": 0.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "torch_dtype": "float32",
}


def make_weights(cfg, gen):
    d = cfg["hidden_size"]
    hd = d // cfg["num_attention_heads"]
    q = cfg["num_attention_heads"] * hd
    kv = cfg["num_key_value_heads"] * hd
    inter = cfg["intermediate_size"]
    V = cfg["vocab_size"]

    def normal(*shape, std):
        return (torch.randn(*shape, generator=gen, dtype=torch.float64) * std).float()

    w = {"model.embed_tokens.weight": normal(V, d, std=0.5)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = 1 + normal(d, std=0.1)
        w[p + "self_attn.q_proj.weight"] = normal(q, d, std=0.3)
        w[p + "self_attn.q_proj.bias"] = normal(q, std=0.1)
        w[p + "self_attn.k_proj.weight"] = normal(kv, d, std=0.3)
        w[p + "self_attn.k_proj.bias"] = normal(kv, std=0.1)
        w[p + "self_attn.v_proj.weight"] = normal(kv, d, std=0.3)
        w[p + "self_attn.v_proj.bias"] = normal(kv, std=0.1)
        w[p + "self_attn.o_proj.weight"] = normal(d, q, std=0.3)
        w[p + "post_attention_layernorm.weight"] = 1 + normal(d, std=0.1)
        w[p + "mlp.gate_proj.weight"] = normal(inter, d, std=0.3)
        w[p + "mlp.up_proj.weight"] = normal(inter, d, std=0.3)
        w[p + "mlp.down_proj.weight"] = normal(d, inter, std=0.3)
    w["model.norm.weight"] = 1 + normal(d, std=0.1)
    return w


# ---- independent float64 model (transcribed from HF modeling_qwen2.py) -------------------------


def rms_norm(x, weight, eps):
    variance = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(variance + eps))


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def rope_cos_sin(position_ids, head_dim, theta):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    freqs = position_ids.to(torch.float64)[..., None] * inv_freq[None, None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()  # [B, T, hd]


def forward(cfg, w, input_ids, attention_mask, position_ids):
    B, T = input_ids.shape
    d = cfg["hidden_size"]
    nH = cfg["num_attention_heads"]
    nKV = cfg["num_key_value_heads"]
    hd = d // nH
    eps = cfg["rms_norm_eps"]
    x = w["model.embed_tokens.weight"][input_ids]
    cos, sin = rope_cos_sin(position_ids, hd, cfg["rope_theta"])
    cos, sin = cos[:, None], sin[:, None]  # [B, 1, T, hd]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    allowed = causal[None, None] & attention_mask.bool()[:, None, None, :]  # [B, 1, T, T]
    has_key = allowed.any(-1, keepdim=True)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = h @ w[p + "self_attn.q_proj.weight"].T + w[p + "self_attn.q_proj.bias"]
        k = h @ w[p + "self_attn.k_proj.weight"].T + w[p + "self_attn.k_proj.bias"]
        v = h @ w[p + "self_attn.v_proj.weight"].T + w[p + "self_attn.v_proj.bias"]
        q = q.view(B, T, nH, hd).transpose(1, 2)
        k = k.view(B, T, nKV, hd).transpose(1, 2)
        v = v.view(B, T, nKV, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nH // nKV, dim=1)  # repeat_kv
        v = v.repeat_interleave(nH // nKV, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        scores = scores.masked_fill(~allowed, float("-inf"))
        probs = torch.softmax(scores.masked_fill(~has_key, 0.0), dim=-1)
        probs = torch.where(has_key, probs, torch.zeros_like(probs))  # query with no key: zero output
        ctx = (probs @ v).transpose(1, 2).reshape(B, T, nH * hd)
        x = x + ctx @ w[p + "self_attn.o_proj.weight"].T
        h2 = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = h2 @ w[p + "mlp.gate_proj.weight"].T
        u = h2 @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    lm = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return x @ lm.T


# ---- files ---------------------------------------------------------------------------------------


def write_safetensors(path, tensors):
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def tokenizer_json():
    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    for i, ch in enumerate(ALPHABET):
        vocab[ch] = i + len(SPECIALS)
    bos = {"SpecialToken": {"id": "<bos>", "type_id": 0}}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i, t in enumerate(SPECIALS)
        ],
        "normalizer": None,
        "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "[\\s\\S]"}, "behavior": "Isolated", "invert": False},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [bos, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [bos, {"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<bos>": {"id": "<bos>", "ids": [1], "tokens": ["<bos>"]}},
        },
        "decoder": {"type": "Fuse"},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": vocab, "merges": []},
    }


def encode(text):
    return [1] + [ALPHABET.index(c) + len(SPECIALS) for c in text]


def main():
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    cfg = CONFIG
    w32 = make_weights(cfg, gen)
    os.makedirs(OUT, exist_ok=True)

    # Inputs: (prompt, response) rows; row 1 right-padded, row 2 left-padded.
    pad = 0
    rows = [("hello", " world!"), ("abc", "de"), ("why", "? no")]
    T = max(len(encode(p)) + len(r) for p, r in rows)
    ids, am, rm = [], [], []
    for i, (prompt, resp) in enumerate(rows):
        seq = encode(prompt) + [ALPHABET.index(c) + len(SPECIALS) for c in resp]
        resp_mask = [0] * len(encode(prompt)) + [1] * len(resp)
        n_pad = T - len(seq)
        if i == 2:  # left padding
            ids.append([pad] * n_pad + seq)
            am.append([0] * n_pad + [1] * len(seq))
            rm.append([0] * n_pad + resp_mask)
        else:
            ids.append(seq + [pad] * n_pad)
            am.append([1] * len(seq) + [0] * n_pad)
            rm.append(resp_mask + [0] * n_pad)
    input_ids = torch.tensor(ids)
    attention_mask = torch.tensor(am)
    response_mask = torch.tensor(rm, dtype=torch.float64)
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)

    w64 = {k: v.to(torch.float64).requires_grad_(True) for k, v in w32.items()}
    logits = forward(cfg, w64, input_ids, attention_mask, position_ids)
    logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, input_ids[:, 1:, None])[..., 0]
    token_lp = torch.cat([torch.zeros(len(rows), 1, dtype=torch.float64), logp], dim=1) * response_mask
    seq_lp = token_lp.sum(-1)
    loss_weights = torch.tensor([1.0, -0.5, 0.25], dtype=torch.float64)
    (seq_lp * loss_weights).sum().backward()

    try:  # optional cross-check against transformers
        from transformers import Qwen2Config, Qwen2ForCausalLM  # type: ignore

        hf = Qwen2ForCausalLM(Qwen2Config(**cfg)).double().eval()
        hf.load_state_dict({k: v.double() for k, v in w32.items()}, strict=False)
        with torch.no_grad():
            hl = hf(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids).logits
        real = attention_mask.bool()
        diff = (hl - logits.detach())[real].abs().max().item()
        print(f"transformers cross-check: max |Δlogits| on real tokens = {diff:.3e}")
        assert diff < 1e-8
    except ImportError:
        print("transformers not installed: skipped the optional cross-check")

    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(OUT, "model.safetensors"), w32)
    with open(os.path.join(OUT, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(), f)
    try:
        from safetensors.torch import load_file  # type: ignore

        back = load_file(os.path.join(OUT, "model.safetensors"))
        assert all(torch.equal(back[k], w32[k]) for k in w32)
        print("safetensors.torch.load_file read the file back")
    except ImportError:
        print("safetensors not installed: skipped the read-back check")

    expected = {
        "format_version": FORMAT_VERSION,
        "generator": "packages/model/scripts/make-fixture.py",
        "torch_version": torch.__version__,
        "seed": SEED,
        "texts": [[p, r] for p, r in rows],
        "input_ids": ids,
        "attention_mask": am,
        "response_mask": rm,
        "position_ids": position_ids.tolist(),
        "logits": logits.detach().reshape(-1).tolist(),
        "token_logprobs": token_lp.detach().reshape(-1).tolist(),
        "sequence_logprobs": seq_lp.detach().tolist(),
        "loss_weights": loss_weights.tolist(),
        "grads": {k: v.grad.reshape(-1).tolist() for k, v in w64.items()},
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f)
        f.write("\n")
    print(f"wrote {os.path.normpath(OUT)} (B={len(rows)}, T={T}, V={cfg['vocab_size']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
