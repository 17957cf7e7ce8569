"""Same answers as the reference implementation, for every variant its configs use.

The fixtures hold the reference model's per-step argmax tokens and halting logits (recorded with
tests/solver/make_parity_fixtures.py) for deterministic weights regenerated here. The weights are written as
a reference checkpoint (`step_N` + `all_config.yaml`) and read back through `load_checkpoint`, so the test
covers the reference reader, both key prefixes, the inferred shapes and the forward pass together.
"""

import json

import numpy as np
import pytest
import torch

from solver.checkpoint import expected_shapes, load_checkpoint
from solver.inference import solve_steps
from tests.solver.parity import (
    FIXTURES, VARIANTS, config_of, fixture_weights, weights_checksum, write_reference_checkpoint,
)

PREFIXES = ["_orig_mod.model.inner.", "model.inner."]
# The fixtures were recorded on one CPU; another CPU's matrix kernels round differently. Random weights leave
# many near-tied logits, and 16 recursive steps amplify rounding, so a few argmaxes can flip by the last step
# (seen: up to 1.2% of the tokens and 0.022 in q_halt on the mlp_t variants, 0 on the others). A wrong model
# differs on most tokens from the first step, which these bounds still catch.
FLOAT_ROUNDING_TOKENS = 0.05
FLOAT_ROUNDING_Q_HALT = 0.1


def fixture(variant: str) -> dict:
    return json.loads((FIXTURES / f"parity_{variant}.json").read_text())


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_same_tokens_and_halting_as_reference(variant, tmp_path):
    data = fixture(variant)
    config = config_of(data)
    weights = fixture_weights({k: tuple(s) for k, s in expected_shapes(config).items()}, data["seed"])
    # Our tensor names and shapes regenerate exactly the weights the reference model was given.
    assert weights_checksum(weights) == data["weights_sha256"]

    prefix = PREFIXES[sorted(VARIANTS).index(variant) % 2]
    path = write_reference_checkpoint(tmp_path, weights, data["arch"], data["kind"], prefix)
    model, loaded = load_checkpoint(path)
    assert loaded == config

    steps = list(solve_steps(model, np.array(data["inputs"]), data["puzzle_ids"]))
    assert [s.step for s in steps] == list(range(1, data["arch"]["halt_max_steps"] + 1))
    for result, tokens, q_halt in zip(steps, data["tokens"], data["q_halt_logits"]):
        differing = float((result.tokens != np.array(tokens)).mean())
        assert differing <= FLOAT_ROUNDING_TOKENS, f"step {result.step}: {differing:.1%} of the argmax tokens differ"
        np.testing.assert_allclose(result.q_halt_logit, q_halt, rtol=0, atol=FLOAT_ROUNDING_Q_HALT)


def test_bf16_reference_checkpoint_runs_in_fp32_on_cpu(tmp_path):
    """Published checkpoints hold bf16 tensors; on a CPU they are upcast once and run in fp32."""
    data = fixture("mlp_t_puzzle")
    weights = fixture_weights({k: tuple(s) for k, s in expected_shapes(config_of(data)).items()}, data["seed"])
    path = write_reference_checkpoint(tmp_path, weights, data["arch"], data["kind"], PREFIXES[0],
                                      dtype=torch.bfloat16)
    model, _ = load_checkpoint(path)
    assert model.dtype == torch.float32
    assert torch.equal(model.lm_head.weight, weights["lm_head.weight"].to(torch.bfloat16).float())
    assert len(list(solve_steps(model, np.array(data["inputs"]), data["puzzle_ids"], steps=1))) == 1
