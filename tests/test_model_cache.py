"""The worker's checkpoint cache: one load per checkpoint, in the compute dtype TRM_CPU_DTYPE asks for."""

import torch

from puzzles.services.model_cache import cached_model
from solver.checkpoint import checkpoint_info


def test_a_cpu_worker_computes_in_float32_unless_told_to_use_the_trained_dtype(settings, tiny_checkpoint_files):
    path = str(tiny_checkpoint_files["sudoku"])
    info = checkpoint_info(path)
    assert info["config"]["forward_dtype"] == "bfloat16"  # what the published checkpoints are trained in

    settings.TRM_CPU_DTYPE = "float32"
    exact, _ = cached_model(path, info["content_hash"])
    assert exact.dtype == torch.float32
    assert cached_model(path, info["content_hash"])[0] is exact  # loaded once

    settings.TRM_CPU_DTYPE = "checkpoint"
    trained, _ = cached_model(path, info["content_hash"])
    assert trained.dtype == torch.bfloat16
    for name, weight in trained.state_dict().items():
        if name != "puzzle_emb.weights":
            assert torch.equal(weight, exact.state_dict()[name].to(torch.bfloat16)), name
