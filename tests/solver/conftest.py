"""Small real models for the solver tests (hidden 16-32: every test runs in well under a second)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from solver.checkpoint import save_checkpoint
from solver.config import TRMConfig
from solver.model import TRM, init_weights

TINY = dict(hidden_size=16, num_heads=2, expansion=2.0, H_cycles=2, L_cycles=2, halt_max_steps=3,
            puzzle_emb_ndim=16, forward_dtype="float32")


def tiny_model(kind: str = "sudoku", seed: int = 0, **overrides) -> TRM:
    """A randomly initialised TRM whose halting head is not left at its constant start value."""
    config = TRMConfig.for_kind(kind, **{**TINY, **overrides})
    model = init_weights(TRM(config), torch.Generator().manual_seed(seed))
    with torch.no_grad():
        model.q_head.weight.normal_(generator=torch.Generator().manual_seed(seed + 1))
    return model.eval()


@pytest.fixture
def sudoku_model() -> TRM:
    return tiny_model("sudoku")


@pytest.fixture
def project_checkpoint(tmp_path: Path) -> Path:
    model = tiny_model("sudoku")
    return save_checkpoint(model, model.config, tmp_path / "tiny.safetensors",
                           provenance={"made_by": "tests", "trained": False, "training_step": 0})
