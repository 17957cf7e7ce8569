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


def test_auto_computes_in_bf16_only_for_a_bf16_checkpoint_on_a_cpu_with_native_bf16(settings, tiny_checkpoint_files,
                                                                                      monkeypatch, tmp_path):
    from solver import devices
    from solver.checkpoint import load_checkpoint, save_checkpoint
    from solver.config import TRMConfig
    from solver.model import TRM, init_weights

    path = str(tiny_checkpoint_files["maze"])
    info = checkpoint_info(path)
    settings.TRM_CPU_DTYPE = "auto"
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: True)
    assert cached_model(path, info["content_hash"])[0].dtype == torch.bfloat16

    # An fp32-trained checkpoint (as the demos are) stays in fp32 whatever the CPU.
    config = TRMConfig.for_kind("maze", hidden_size=32, num_heads=2, H_cycles=1, L_cycles=1, puzzle_emb_ndim=32,
                                forward_dtype="float32")
    fp32_trained = save_checkpoint(init_weights(TRM(config), torch.Generator().manual_seed(0)), config,
                                   tmp_path / "fp32.safetensors", provenance={"made_by": "test"})
    assert load_checkpoint(fp32_trained, dtype="auto")[0].dtype == torch.float32

    # A CPU without native bf16 emulates it, slower than fp32: auto keeps fp32.
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: False)
    assert load_checkpoint(path, dtype="auto")[0].dtype == torch.float32
    assert load_checkpoint(path, dtype="checkpoint")[0].dtype == torch.bfloat16
