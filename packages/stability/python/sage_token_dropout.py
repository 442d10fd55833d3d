"""Reference implementation of SAGE's token-dropout masks (standard library only).

Bit-for-bit the same as ``tokenDropoutMasks`` / ``tokenDropoutWeights`` /
``tokenDropoutErrorMargins`` of ``@sage/stability``; the algorithm is written out in
``docs/other-trainers.md`` ("Token-dropout masks, precisely"). Copy this file into a Python
training loop to compute ``perturbed_margins`` for ``sage select``.

    masks = token_dropout_masks(n_tokens, k=4, rho=0.1, seed=plan_seed, pair_key=pair_key, side=0)
    margins = token_dropout_error_margins(chosen_logps, rejected_logps, k=4, rho=0.1,
                                          seed=plan_seed, pair_key=pair_key)

Run ``python3 sage_token_dropout.py VECTORS.json`` to check it against the JSON test vectors
(``packages/stability/test/vectors/token-dropout.json``); it exits 1 on the first mismatch.
"""

import json
import struct
import sys

M32 = 0xFFFFFFFF


def mix32(x):
    """The splitmix32 / murmur3 finaliser on a 32-bit word (any integer, taken mod 2**32)."""
    z = (x + 0x9E3779B9) & M32
    z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M32
    z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
    return z ^ (z >> 16)


def _words(value):
    if not isinstance(value, int) or value < 0 or value > 2**53 - 1:
        raise ValueError(f"expected a non-negative integer below 2**53, received {value!r}")
    return value & M32, (value >> 32) & M32


def derive_seed(seed, *parts):
    """A 32-bit seed from a base seed and integer parts (each in [0, 2**53))."""
    lo, hi = _words(seed)
    h = mix32(lo ^ mix32(hi))
    for p in parts:
        plo, phi = _words(p)
        h = mix32(h ^ mix32(plo ^ mix32(phi + 0x632BE5AB)))
    return h


def hash_string(s):
    """FNV-1a over the UTF-16 code units of ``s`` (as JavaScript's charCodeAt)."""
    h = 0x811C9DC5
    data = s.encode("utf-16-le")
    for i in range(0, len(data), 2):
        h ^= data[i] | (data[i + 1] << 8)
        h = (h * 0x01000193) & M32
    return h


def _rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M32


class Rng:
    """xoshiro128** seeded through splitmix32, as ``Rng`` of @sage/core (re-exported by @sage/stability)."""

    def __init__(self, seed):
        lo, hi = _words(seed)
        x = lo ^ hi
        s = [mix32(x + i * 0x9E3779B9) for i in range(4)]
        if s == [0, 0, 0, 0]:
            s[0] = 1
        self.s = s

    def next_uint32(self):
        s0, s1, s2, s3 = self.s
        result = (_rotl((s1 * 5) & M32, 7) * 9) & M32
        t = (s1 << 9) & M32
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 11)
        self.s = [s0, s1, s2, s3]
        return result

    def next_float(self):
        """Uniform in [0, 1) with 53 bits: (u1 >> 5) * 2**26 + (u2 >> 6), over 2**53."""
        hi = self.next_uint32() >> 5
        lo = self.next_uint32() >> 6
        return (hi * 67108864 + lo) / 9007199254740992


def _check(n_tokens, k, rho, pair_key, side):
    if not isinstance(n_tokens, int) or n_tokens < 1:
        raise ValueError(f"n_tokens: expected an integer >= 1, received {n_tokens!r}")
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k: expected an integer >= 1, received {k!r}")
    if not 0 <= rho < 1:
        raise ValueError(f"rho: expected a number in [0, 1), received {rho!r}")
    if not isinstance(pair_key, int) or pair_key < 0:
        raise ValueError(f"pair_key: expected a non-negative integer, received {pair_key!r}")
    if side not in (0, 1):
        raise ValueError(f"side: expected 0 (chosen) or 1 (rejected), received {side!r}")


def token_dropout_masks(n_tokens, k, rho, seed, pair_key, side):
    """K keep-masks (lists of 0/1) over a response's n_tokens tokens; side 0 = chosen, 1 = rejected."""
    _check(n_tokens, k, rho, pair_key, side)
    rng = Rng(derive_seed(seed, pair_key & M32, pair_key >> 32, side))
    masks = []
    for _ in range(k):
        row = [0] * n_tokens
        kept = 0
        best = -1
        best_u = -1.0
        for t in range(n_tokens):
            u = rng.next_float()
            if u >= rho:
                row[t] = 1
                kept += 1
            if u > best_u:
                best_u = u
                best = t
        if kept == 0:
            row[best] = 1
        masks.append(row)
    return masks


def _f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def token_dropout_weights(n_tokens, k, rho, seed, pair_key, side):
    """The masks as float32 weights with the rescale baked in: mask * n_tokens / kept."""
    out = []
    for row in token_dropout_masks(n_tokens, k, rho, seed, pair_key, side):
        w = n_tokens / sum(row)
        out.append([_f32(w) if m else 0.0 for m in row])
    return out


def apply_token_dropout(token_logps, masks, normalize):
    """Per mask: the kept mean (normalize) or the kept sum rescaled by n / kept, summed in token order."""
    n = len(token_logps)
    out = []
    for row in masks:
        total = 0.0
        kept = 0
        for t in range(n):
            if row[t]:
                total += token_logps[t]
                kept += 1
        out.append(total / kept if normalize else (total * n) / kept)
    return out


def token_dropout_error_margins(
    policy_chosen,
    policy_rejected,
    k,
    rho,
    seed,
    pair_key,
    source="policy",
    reference_chosen=None,
    reference_rejected=None,
    beta=0.1,
    length_normalize=False,
):
    """K perturbed error margins of one pair from per-token log-probs (response tokens only)."""
    mw = token_dropout_masks(len(policy_chosen), k, rho, seed, pair_key, 0)
    ml = token_dropout_masks(len(policy_rejected), k, rho, seed, pair_key, 1)
    if source == "policy":
        a = apply_token_dropout(policy_chosen, mw, True)
        b = apply_token_dropout(policy_rejected, ml, True)
        return [x - y for x, y in zip(a, b)]
    if source != "implicit":
        raise ValueError(f'source: expected "policy" or "implicit", received {source!r}')
    if reference_chosen is None or reference_rejected is None:
        raise ValueError("the implicit source needs reference_chosen and reference_rejected per-token log-probs")
    dw = [p - r for p, r in zip(policy_chosen, reference_chosen)]
    dl = [p - r for p, r in zip(policy_rejected, reference_rejected)]
    a = apply_token_dropout(dw, mw, length_normalize)
    b = apply_token_dropout(dl, ml, length_normalize)
    return [beta * (x - y) for x, y in zip(a, b)]


def check_vectors(vectors):
    """Compare every vector; returns a list of mismatch descriptions (empty: bit-for-bit equal)."""
    bad = []

    def expect(what, got, want):
        if got != want:
            bad.append(f"{what}: expected {want!r}, computed {got!r}")

    for c in vectors["mix32"]:
        expect(f"mix32({c['x']})", mix32(c["x"]), c["out"])
    for c in vectors["derive_seed"]:
        expect(f"derive_seed({c['seed']}, {c['parts']})", derive_seed(c["seed"], *c["parts"]), c["out"])
    for c in vectors["hash_string"]:
        expect(f"hash_string({c['s']!r})", hash_string(c["s"]), c["out"])
    for c in vectors["rng"]:
        a = Rng(c["seed"])
        expect(f"Rng({c['seed']}).state", a.s, c["state"])
        expect(f"Rng({c['seed']}).next_uint32", [a.next_uint32() for _ in c["uint32"]], c["uint32"])
        b = Rng(c["seed"])
        expect(f"Rng({c['seed']}).next_float", [b.next_float() for _ in c["float"]], c["float"])
    for c in vectors["masks"]:
        args = (c["n_tokens"], c["k"], c["rho"], c["seed"], c["pair_key"], c["side"])
        rows = ["".join(str(m) for m in row) for row in token_dropout_masks(*args)]
        expect(f"masks{args}", rows, c["masks"])
        expect(f"weights{args}", token_dropout_weights(*args), c["weights"])
    for c in vectors["margins"]:
        got = token_dropout_error_margins(
            c["policy_chosen"],
            c["policy_rejected"],
            c["k"],
            c["rho"],
            c["seed"],
            c["pair_key"],
            source=c["source"],
            reference_chosen=c["reference_chosen"],
            reference_rejected=c["reference_rejected"],
            beta=c["beta"],
            length_normalize=c["length_normalize"],
        )
        expect(f"margins(seed={c['seed']}, pair_key={c['pair_key']}, {c['source']})", got, c["margins"])
    return bad


def main(argv):
    if len(argv) != 2:
        print("usage: python3 sage_token_dropout.py VECTORS.json", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        vectors = json.load(f)
    bad = check_vectors(vectors)
    for line in bad:
        print(line, file=sys.stderr)
    n = sum(len(vectors[key]) for key in ("mix32", "derive_seed", "hash_string", "rng", "masks", "margins"))
    print(f"{n} vector groups checked, {len(bad)} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
