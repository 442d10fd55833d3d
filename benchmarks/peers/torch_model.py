#!/usr/bin/python3
"""PyTorch CPU peer of `npm run bench -- model`.

A Llama-like causal LM written by hand in plain torch (token embedding, RMSNorm, RoPE on
half-split pairs as in HF Llama, causal GQA attention, SwiGLU MLP, untied or tied LM head) and
torch.optim.AdamW (decay on matrices only, global gradient-norm clipping at 1), the same
architecture and sizes as the benchmark's `@sage/model` configs.

Input: one JSON object as the first argument (see `main`). Output: one JSON object on the last
line of stdout. Training tokens/s is the median over timed steps (forward + backward + clip +
AdamW) after warm-up; sampling is greedy decoding with a KV cache (prefill, then one token per
row per step), timed as a whole. Run with Debian's /usr/bin/python3 (python3-torch).
"""

import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        d, hd = c["hiddenSize"], c["headDim"]
        self.nh, self.nkv, self.hd, self.eps = c["numHeads"], c["numKvHeads"], hd, c["rmsNormEps"]
        self.q = torch.nn.Linear(d, self.nh * hd, bias=False)
        self.k = torch.nn.Linear(d, self.nkv * hd, bias=False)
        self.v = torch.nn.Linear(d, self.nkv * hd, bias=False)
        self.o = torch.nn.Linear(self.nh * hd, d, bias=False)
        self.gate = torch.nn.Linear(d, c["intermediateSize"], bias=False)
        self.up = torch.nn.Linear(d, c["intermediateSize"], bias=False)
        self.down = torch.nn.Linear(c["intermediateSize"], d, bias=False)
        self.n1 = torch.nn.Parameter(torch.ones(d))
        self.n2 = torch.nn.Parameter(torch.ones(d))

    def forward(self, x, cos, sin, cache=None, start=0):
        B, T, _ = x.shape
        h = rmsnorm(x, self.n1, self.eps)
        q = self.q(h).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k(h).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.v(h).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        if cache is not None:
            ck, cv = cache
            ck[:, :, start : start + T] = k
            cv[:, :, start : start + T] = v
            k, v = ck[:, :, : start + T], cv[:, :, : start + T]
        rep = self.nh // self.nkv
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        S = k.shape[2]
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        if T > 1:
            qi = torch.arange(start, start + T).view(T, 1)
            ki = torch.arange(S).view(1, S)
            att = att.masked_fill(ki > qi, float("-inf"))
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, self.nh * self.hd)
        x = x + self.o(y)
        h = rmsnorm(x, self.n2, self.eps)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


class Llama(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        d, V = c["hiddenSize"], c["vocabSize"]
        self.embed = torch.nn.Embedding(V, d)
        self.layers = torch.nn.ModuleList(Block(c) for _ in range(c["numLayers"]))
        self.norm = torch.nn.Parameter(torch.ones(d))
        self.head = None if c["tieWordEmbeddings"] else torch.nn.Linear(d, V, bias=False)
        for p in self.parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, std=0.02)
        hd = c["headDim"]
        inv = 1.0 / (c["ropeTheta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
        ang = torch.arange(c["maxPositionEmbeddings"], dtype=torch.float64).view(-1, 1) * inv.view(1, -1)
        ang = torch.cat((ang, ang), dim=-1)
        self.register_buffer("cos", ang.cos().float(), persistent=False)
        self.register_buffer("sin", ang.sin().float(), persistent=False)

    def forward(self, ids, caches=None, start=0):
        T = ids.shape[1]
        cos, sin = self.cos[start : start + T], self.sin[start : start + T]
        x = self.embed(ids)
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, None if caches is None else caches[i], start)
        x = rmsnorm(x, self.norm, self.c["rmsNormEps"])
        return x @ self.embed.weight.t() if self.head is None else self.head(x)


def param_count(model):
    return sum(p.numel() for p in model.parameters())


def blas_library():
    """Which BLAS the process mapped (Debian's torch links libblas.so.3, an alternatives link)."""
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return "unknown"
    for name in ("openblas-pthread", "openblas-openmp", "openblas-serial", "libopenblas", "libmkl", "blis"):
        if name in maps:
            return name
    if "/blas/libblas.so" in maps:
        return "reference BLAS (netlib)"
    return "unknown"


def main():
    a = json.loads(sys.argv[1])
    c = a["config"]
    # 0 = torch's own default (on a loaded 2-vCPU machine, more threads than physical cores make
    # OpenMP spin against the other processes: measured 6,300 tokens/s at 1 thread, 875 at 2).
    threads = int(a.get("threads", 0))
    if threads > 0:
        torch.set_num_threads(threads)
    torch.manual_seed(int(a.get("seed", 1)))
    B, T = a["batch"], a["seqLen"]
    model = Llama(c)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
    )
    g = torch.Generator().manual_seed(1)
    # Same shape as the benchmark's batch: token 1, then T-1 random response tokens, all scored.
    ids = torch.randint(0, c["vocabSize"], (B, T), generator=g)
    ids[:, 0] = 1

    losses = []

    def step():
        logits = model(ids)[:, :-1]  # all T tokens go through the model, as on the GPU side
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss))

    t_start = time.perf_counter()
    for _ in range(a["warmup"]):
        step()
    samples = []
    budget = a.get("budgetS", 0)
    spent = 0.0
    while len(samples) < a["maxSteps"] and (len(samples) < a["minSteps"] or spent < budget):
        t0 = time.perf_counter()
        step()
        dt = time.perf_counter() - t0
        samples.append(dt * 1000)
        spent += dt
    train_ms = statistics.median(samples)
    tokens_per_step = B * T  # same count as the GPU side reports (B·T tokens per step)

    # Greedy decoding with a KV cache: prefill the prompts, then one token per row per step.
    sp = a["sampling"]
    nP, P, new = sp["prompts"], sp["promptLen"], sp["newTokens"]
    prompts = torch.randint(4, c["vocabSize"], (nP, P), generator=g)
    hd, nkv = c["headDim"], c["numKvHeads"]

    def decode():
        with torch.inference_mode():
            caches = [
                (torch.zeros(nP, nkv, P + new, hd), torch.zeros(nP, nkv, P + new, hd))
                for _ in range(c["numLayers"])
            ]
            logits = model(prompts, caches, 0)
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            out = [nxt]
            for i in range(1, new):
                logits = model(nxt, caches, P + i - 1)
                nxt = logits[:, -1].argmax(-1, keepdim=True)
                out.append(nxt)
            return torch.cat(out, dim=1)

    decode()  # warm-up
    t0 = time.perf_counter()
    decode()
    sample_s = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "blas": blas_library(),
                "parameters": param_count(model),
                "train": {
                    "tokensPerStep": tokens_per_step,
                    "medianMs": train_ms,
                    "tokensPerS": tokens_per_step / (train_ms / 1000),
                    "samplesMs": samples,
                    "losses": losses,
                },
                "sampling": {
                    "prompts": nP,
                    "promptLen": P,
                    "newTokens": new,
                    "ms": sample_s * 1000,
                    "tokensPerS": nP * new / sample_s,
                },
                "wallS": time.perf_counter() - t_start,
            }
        )
    )


if __name__ == "__main__":
    main()
