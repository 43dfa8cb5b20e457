#!/usr/bin/env python3
"""Writes a tiny LLaVA-style vision projector (an `mmproj` GGUF, 0.2 MB) for
SmolLM2-135M-Instruct, with deterministic pseudo-random weights.

No vision model with a projector can be fetched from the registries this project may use
(crates.io, PyPI, npm, Debian), so the tests of the local engine's image path run the real
text model with a projector made here: a 2-layer CLIP-like vision encoder (width 32,
patch 14, 56x56 input: 16 patches) and LLaVA's 2-layer MLP projector into SmolLM2's 576-wide
embedding space. The weights are nonsense, so the model does not *see* anything; what is
tested is the plumbing: an image is decoded, preprocessed, encoded by the projector into
16 embeddings that take 16 positions of the prompt, and generation runs on top of them.

Only the standard library is used and the weights come from an integer generator, so the
output is byte-for-byte the same on every machine (its sha256 is checked by
scripts/fetch-vision.sh).

usage: make-tiny-projector.py OUT.gguf
"""
import struct
import sys

TEXT_N_EMBD = 576   # SmolLM2-135M's embedding width: the projector's output
N_EMBD = 32         # vision encoder width
N_HEAD = 2
N_FF = 64
N_LAYER = 2
PATCH = 14
IMAGE = 56          # (56 / 14)^2 = 16 patches = 16 image tokens
MLP_HIDDEN = 64
N_PATCHES = (IMAGE // PATCH) ** 2
ALIGN = 32

# GGUF value types
T_U32, T_F32, T_BOOL, T_STRING, T_ARRAY = 4, 6, 7, 8, 9
GGML_F32 = 0


def s(text):
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, value):
    out = s(key) + struct.pack("<I", vtype)
    if vtype == T_U32:
        return out + struct.pack("<I", value)
    if vtype == T_F32:
        return out + struct.pack("<f", value)
    if vtype == T_BOOL:
        return out + struct.pack("<B", 1 if value else 0)
    if vtype == T_STRING:
        return out + s(value)
    if vtype == T_ARRAY:  # of f32
        return out + struct.pack("<IQ", T_F32, len(value)) + b"".join(struct.pack("<f", v) for v in value)
    raise ValueError(vtype)


class Weights:
    """Small uniform values from a 64-bit LCG: the same bytes everywhere."""

    def __init__(self, seed):
        self.state = seed

    def take(self, n, scale):
        out = []
        for _ in range(n):
            self.state = (self.state * 6364136223846793005 + 1442695040888963407) & ((1 << 64) - 1)
            u = (self.state >> 40) / float(1 << 24)  # [0, 1)
            out.append((u * 2.0 - 1.0) * scale)
        return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rng = Weights(20261207)
    tensors = []  # (name, ne (ggml order), values)

    def add(name, ne, scale=None, const=None):
        n = 1
        for d in ne:
            n *= d
        values = [const] * n if const is not None else rng.take(n, scale)
        tensors.append((name, ne, values))

    add("v.patch_embd.weight", [PATCH, PATCH, 3, N_EMBD], scale=0.05)
    add("v.patch_embd.bias", [N_EMBD], const=0.0)
    add("v.position_embd.weight", [N_EMBD, N_PATCHES], scale=0.1)
    for il in range(N_LAYER):
        p = f"v.blk.{il}"
        for n in ("attn_q", "attn_k", "attn_v", "attn_out"):
            add(f"{p}.{n}.weight", [N_EMBD, N_EMBD], scale=0.15)
            add(f"{p}.{n}.bias", [N_EMBD], const=0.0)
        add(f"{p}.ln1.weight", [N_EMBD], const=1.0)
        add(f"{p}.ln1.bias", [N_EMBD], const=0.0)
        add(f"{p}.ln2.weight", [N_EMBD], const=1.0)
        add(f"{p}.ln2.bias", [N_EMBD], const=0.0)
        add(f"{p}.ffn_up.weight", [N_EMBD, N_FF], scale=0.15)
        add(f"{p}.ffn_up.bias", [N_FF], const=0.0)
        add(f"{p}.ffn_down.weight", [N_FF, N_EMBD], scale=0.1)
        add(f"{p}.ffn_down.bias", [N_EMBD], const=0.0)
    add("mm.0.weight", [N_EMBD, MLP_HIDDEN], scale=0.15)
    add("mm.0.bias", [MLP_HIDDEN], const=0.0)
    # Small outputs: the image's embeddings stay near the scale of SmolLM2's token embeddings.
    add("mm.2.weight", [MLP_HIDDEN, TEXT_N_EMBD], scale=0.05)
    add("mm.2.bias", [TEXT_N_EMBD], const=0.0)

    kvs = [
        kv("general.architecture", T_STRING, "clip"),
        kv("general.name", T_STRING, "llmport tiny random projector for SmolLM2-135M"),
        kv("clip.has_vision_encoder", T_BOOL, True),
        kv("clip.projector_type", T_STRING, "mlp"),
        kv("clip.use_gelu", T_BOOL, True),
        kv("clip.vision.image_size", T_U32, IMAGE),
        kv("clip.vision.patch_size", T_U32, PATCH),
        kv("clip.vision.embedding_length", T_U32, N_EMBD),
        kv("clip.vision.feed_forward_length", T_U32, N_FF),
        kv("clip.vision.block_count", T_U32, N_LAYER),
        kv("clip.vision.projection_dim", T_U32, TEXT_N_EMBD),
        kv("clip.vision.attention.head_count", T_U32, N_HEAD),
        kv("clip.vision.attention.layer_norm_epsilon", T_F32, 1e-5),
        kv("clip.vision.image_mean", T_ARRAY, [0.5, 0.5, 0.5]),
        kv("clip.vision.image_std", T_ARRAY, [0.5, 0.5, 0.5]),
    ]

    infos = []
    data = bytearray()
    for name, ne, values in tensors:
        offset = len(data)
        infos.append(s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
                     + struct.pack("<IQ", GGML_F32, offset))
        data += struct.pack(f"<{len(values)}f", *values)
        data += b"\0" * (-len(data) % ALIGN)

    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs) + b"".join(infos)
    head += b"\0" * (-len(head) % ALIGN)
    with open(sys.argv[1], "wb") as f:
        f.write(head)
        f.write(data)


if __name__ == "__main__":
    main()
