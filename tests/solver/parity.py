"""Shared by the parity tests and the script that records the reference's outputs.

Fixture weights are not stored: they are regenerated from a seed with an integer hash (splitmix64 in
numpy's wrapping uint64 arithmetic), which gives the same float32 values on every machine and torch
version, so the fixtures hold only configs, inputs and the reference's per-step outputs (a few KB each).
A checksum of the weights is stored too, so a change in names or shapes is caught before any comparison.
"""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

import numpy as np
import torch
import yaml

from solver.config import KIND_SHAPES, TRMConfig

FIXTURES = Path(__file__).parent / "fixtures"

# The variants the reference configs use, at toy sizes (hidden 16) so the tests take seconds. Each names a
# kind (which fixes seq_len and vocabulary) and the arch overrides of the reference yaml.
VARIANTS: dict[str, dict] = {
    "attn_rope_puzzle": {"kind": "sudoku", "arch": {"pos_encodings": "rope"}, "puzzle_ids": 3},
    "attn_rope_nopuzzle": {"kind": "sudoku", "arch": {"pos_encodings": "rope", "puzzle_emb_ndim": 0,
                                                      "puzzle_emb_len": 0}},
    "attn_learned_puzzle": {"kind": "sudoku", "arch": {"pos_encodings": "learned"}, "puzzle_ids": 2},
    "attn_learned_nopuzzle": {"kind": "sudoku", "arch": {"pos_encodings": "learned", "puzzle_emb_ndim": 0,
                                                         "puzzle_emb_len": 0}},
    "mlp_t_puzzle": {"kind": "sudoku", "arch": {"mlp_t": True, "pos_encodings": "none"}, "puzzle_ids": 2},
    "mlp_t_nopuzzle": {"kind": "sudoku", "arch": {"mlp_t": True, "pos_encodings": "none", "puzzle_emb_ndim": 0,
                                                  "puzzle_emb_len": 0}},
    # ARC-shaped: 900 positions, several puzzle ids, a puzzle embedding two positions wide whose prefix
    # length is derived from its size (puzzle_emb_len 0 = ceil(ndim / hidden)).
    "arc_rope_wide_puzzle": {"kind": "arc", "arch": {"pos_encodings": "rope", "puzzle_emb_ndim": 24,
                                                     "puzzle_emb_len": 0}, "puzzle_ids": 5},
}

BASE_ARCH = {
    "name": "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1",
    "loss": {"name": "losses@ACTLossHead", "loss_type": "stablemax_cross_entropy"},
    "halt_exploration_prob": 0.1, "halt_max_steps": 4, "H_cycles": 3, "L_cycles": 2, "H_layers": 0,
    "L_layers": 2, "hidden_size": 16, "num_heads": 2, "expansion": 4, "puzzle_emb_ndim": 16,
    "pos_encodings": "rope", "forward_dtype": "float32", "mlp_t": False, "puzzle_emb_len": 16,
    "no_ACT_continue": True,
}
DATA_PATHS = {"sudoku": "data/sudoku-extreme-1k-aug-1000", "maze": "data/maze-30x30-hard-1k",
              "arc": "data/arc1concept-aug-1000"}
BATCH = 3


def arch_of(variant: str) -> dict:
    return {**BASE_ARCH, **VARIANTS[variant]["arch"]}


def config_of(fixture: dict) -> TRMConfig:
    """The TRMConfig a reference checkpoint of this fixture must load as."""
    arch = fixture["arch"]
    names = ("hidden_size", "num_heads", "expansion", "L_layers", "H_cycles", "L_cycles", "halt_max_steps",
             "pos_encodings", "mlp_t", "puzzle_emb_ndim", "puzzle_emb_len", "forward_dtype")
    return TRMConfig(kind=fixture["kind"], **KIND_SHAPES[fixture["kind"]],
                     num_puzzle_identifiers=fixture["num_puzzle_identifiers"], **{k: arch[k] for k in names})


def hashed_uniform(n: int, key: int) -> np.ndarray:
    """n floats in [-1, 1), a pure function of (n, key) (splitmix64)."""
    z = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(key)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53) * 2 - 1


def fixture_weights(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, torch.Tensor]:
    """Deterministic weights for leaf names -> shapes, scaled like a trained model's (uniform, given std)."""
    weights = {}
    for name, shape in sorted(shapes.items()):
        if name in ("H_init", "L_init", "q_head.bias"):
            std = 1.0
        elif name.endswith("embedding_weight") or name == "puzzle_emb.weights":
            std = shape[-1] ** -0.5
        else:
            std = shape[1] ** -0.5  # linear: 1/sqrt(fan_in)
        n = int(np.prod(shape))
        values = hashed_uniform(n, zlib.crc32(f"{seed}:{name}".encode())) * (3 ** 0.5) * std
        weights[name] = torch.from_numpy(values.astype(np.float32).reshape(shape))
    return weights


def weights_checksum(weights: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(weights):
        h.update(name.encode() + str(list(weights[name].shape)).encode() + weights[name].numpy().tobytes())
    return h.hexdigest()


def fixture_inputs(kind: str, vocab: int, seq_len: int, seed: int) -> np.ndarray:
    """Random valid tokens (never PAD) for BATCH puzzles."""
    u = (hashed_uniform(BATCH * seq_len, seed) + 1) / 2
    return (1 + np.floor(u * (vocab - 1))).astype(np.int64).reshape(BATCH, seq_len)


def write_reference_checkpoint(directory: Path, weights: dict[str, torch.Tensor], arch: dict, kind: str,
                               prefix: str, step: int = 1234, dtype: torch.dtype = torch.float32) -> Path:
    """A `step_N` + `all_config.yaml` pair laid out as the reference training writes them."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"step_{step}"
    torch.save({prefix + k: v.to(dtype) for k, v in weights.items()}, path)
    config = {"arch": arch, "data_paths": [DATA_PATHS[kind]], "global_batch_size": 768, "lr": 1e-4}
    (directory / "all_config.yaml").write_text(yaml.safe_dump(config))
    return path
