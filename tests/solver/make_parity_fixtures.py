"""Record the reference implementation's outputs for the parity tests (tests/solver/fixtures/*.json).

    git -C <mirror of SamsungSAILMontreal/TinyRecursiveModels> archive HEAD models | tar -x -C /tmp/trm_ref
    # plus stand-ins for its CPU-irrelevant imports in /tmp/trm_ref/shims (pydantic.BaseModel, einops.rearrange)
    python tests/solver/make_parity_fixtures.py

Nothing of the reference is kept here: it is imported from /tmp/trm_ref at run time, fed the deterministic
weights of tests/solver/parity.py, and run in fp32 on the CPU the way its evaluation runs (initial carry,
then `halt_max_steps` forward calls in eval mode). Exits quietly when /tmp/trm_ref is absent.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REF = Path("/tmp/trm_ref")

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.solver.parity import (  # noqa: E402
    BATCH, FIXTURES, VARIANTS, arch_of, fixture_inputs, fixture_weights, weights_checksum,
)
from solver.config import KIND_SHAPES  # noqa: E402


def record(variant: str, seed: int = 7) -> dict:
    import torch
    from models.recursive_reasoning.trm import TinyRecursiveReasoningModel_ACTV1  # the reference

    kind = VARIANTS[variant]["kind"]
    arch = arch_of(variant)
    shapes = KIND_SHAPES[kind]
    n_ids = VARIANTS[variant].get("puzzle_ids", 1)
    model_cfg = {k: v for k, v in arch.items() if k not in ("name", "loss")}
    model_cfg.update(batch_size=BATCH, seq_len=shapes["seq_len"], vocab_size=shapes["vocab_size"],
                     num_puzzle_identifiers=n_ids, causal=False)
    torch.manual_seed(0)
    model = TinyRecursiveReasoningModel_ACTV1(model_cfg)
    state = model.inner.state_dict()
    weights = fixture_weights({k: tuple(v.shape) for k, v in state.items()}, seed)
    model.inner.load_state_dict(weights, strict=True)
    model.eval()

    inputs = fixture_inputs(kind, shapes["vocab_size"], shapes["seq_len"], seed)
    puzzle_ids = [i % n_ids for i in range(BATCH)]
    batch = {"inputs": torch.from_numpy(inputs).to(torch.int32),
             "puzzle_identifiers": torch.tensor(puzzle_ids, dtype=torch.int32),
             "labels": torch.zeros_like(torch.from_numpy(inputs))}
    tokens, q_halt = [], []
    with torch.inference_mode():
        carry = model.initial_carry(batch)
        for _ in range(arch["halt_max_steps"]):
            carry, out = model(carry=carry, batch=batch)
            tokens.append(out["logits"].argmax(-1).tolist())
            q_halt.append(out["q_halt_logits"].float().tolist())
    return {"variant": variant, "kind": kind, "arch": arch, "num_puzzle_identifiers": n_ids, "seed": seed,
            "weights_sha256": weights_checksum(weights), "inputs": inputs.tolist(), "puzzle_ids": puzzle_ids,
            "tokens": tokens, "q_halt_logits": q_halt}


def main() -> int:
    if not (REF / "models" / "recursive_reasoning" / "trm.py").exists():
        print(f"{REF} does not hold the reference code; nothing to do")
        return 0
    sys.path[:0] = [str(REF / "shims"), str(REF)]
    FIXTURES.mkdir(exist_ok=True)
    for variant in VARIANTS:
        data = record(variant)
        path = FIXTURES / f"parity_{variant}.json"
        path.write_text(json.dumps(data, separators=(",", ":")))
        print(f"{path}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
