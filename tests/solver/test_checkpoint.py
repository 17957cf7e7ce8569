import json
import os
import struct

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from solver.checkpoint import (
    DEMO_DIR, CheckpointError, checkpoint_info, content_hash, convert_checkpoint, expected_shapes, load_checkpoint,
    resolve_checkpoint_path, save_checkpoint,
)
from solver.inference import solve_steps
from tests.solver.conftest import tiny_model
from tests.solver.parity import fixture_weights, write_reference_checkpoint

ARCH = {"name": "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1",
        "loss": {"name": "losses@ACTLossHead", "loss_type": "stablemax_cross_entropy"},
        "H_cycles": 2, "L_cycles": 2, "L_layers": 2, "hidden_size": 16, "num_heads": 2, "expansion": 2,
        "halt_max_steps": 3, "puzzle_emb_ndim": 16, "puzzle_emb_len": 16, "pos_encodings": "rope",
        "mlp_t": False, "forward_dtype": "bfloat16"}


def answers(model, steps=2):
    inputs = np.full((2, model.config.seq_len), 2)
    return [(s.tokens.tolist(), s.q_halt_logit.tolist()) for s in solve_steps(model, inputs, steps=steps)]


def reference_checkpoint(tmp_path, kind="maze", n_ids=1, **arch):
    """A reference-format checkpoint of a tiny attention model, its weights from our own model."""
    model = tiny_model(kind, num_puzzle_identifiers=n_ids)
    state = {k: v.to(torch.bfloat16) for k, v in model.state_dict().items()}
    return write_reference_checkpoint(tmp_path / "ref", state, {**ARCH, **arch}, kind, "_orig_mod.model.inner.",
                                      step=500, dtype=torch.bfloat16), model


def test_project_round_trip(tmp_path):
    model = tiny_model("sudoku", mlp_t=True, pos_encodings="none")
    path = save_checkpoint(model, model.config, tmp_path / "m.safetensors",
                           provenance={"made_by": "test", "trained": False, "training_step": 0})
    loaded, config = load_checkpoint(path)
    assert config == model.config
    assert answers(loaded) == answers(model)
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    assert json.loads(meta["config"])["kind"] == "sudoku"
    assert json.loads(meta["provenance"])["made_by"] == "test"
    assert meta["content_hash"] == content_hash(model.state_dict())


def mapped_file(address: int) -> str | None:
    """The file whose mapping holds `address` in this process (Linux), or None for anonymous memory."""
    for line in open("/proc/self/maps"):
        parts = line.split()
        start, end = (int(x, 16) for x in parts[0].split("-"))
        if start <= address < end:
            return parts[5] if len(parts) > 5 else None
    return None


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux /proc")
def test_puzzle_table_is_memory_mapped_not_copied(tmp_path):
    model = tiny_model("arc", num_puzzle_identifiers=4000)
    path = save_checkpoint(model, model.config, tmp_path / "arc.safetensors", provenance={})
    loaded, _ = load_checkpoint(path)
    assert loaded.puzzle_emb.weights.shape == (4000, 16)
    assert mapped_file(loaded.puzzle_emb.weights.data_ptr()) == str(path)
    assert answers(loaded) == answers(model)


def test_info_is_read_from_the_header(project_checkpoint):
    info = checkpoint_info(project_checkpoint)
    assert info["format"] == "project"
    assert info["kind"] == "sudoku"
    assert info["variant"] == "mlp_t"
    assert info["parameters"] == tiny_model("sudoku").num_parameters()
    assert info["steps"] == 0 and info["trained"] is False
    assert info["content_hash"].startswith("sha256:")
    assert info["dtypes"] == ["float32"]
    assert info["provenance"]["made_by"] == "tests"


def test_reference_checkpoint_loads_with_inferred_shapes(tmp_path):
    path, model = reference_checkpoint(tmp_path, "arc", n_ids=7)
    loaded, config = load_checkpoint(path)
    assert (config.kind, config.seq_len, config.vocab_size, config.num_puzzle_identifiers) == ("arc", 900, 12, 7)
    assert config.forward_dtype == "bfloat16" and loaded.dtype == torch.float32
    info = checkpoint_info(path)
    assert (info["format"], info["steps"], info["dtypes"]) == ("reference", 500, ["bfloat16"])


def test_convert_round_trip_keeps_tensors_and_hash(tmp_path):
    path, _ = reference_checkpoint(tmp_path)
    project = convert_checkpoint(path, tmp_path / "m.safetensors")
    back = convert_checkpoint(project, tmp_path / "back")
    assert back.name == "step_500" and (back.parent / "all_config.yaml").exists()
    hashes = {checkpoint_info(p)["content_hash"] for p in (path, project, back)}
    assert len(hashes) == 1
    a, _ = load_checkpoint(path)
    b, _ = load_checkpoint(project)
    c, _ = load_checkpoint(back)
    assert answers(a) == answers(b) == answers(c)
    assert checkpoint_info(project)["provenance"]["training_step"] == 500


def test_kind_from_argument_when_data_path_does_not_say(tmp_path):
    path, _ = reference_checkpoint(tmp_path, "maze")
    (path.parent / "all_config.yaml").write_text(
        (path.parent / "all_config.yaml").read_text().replace("data/maze-30x30-hard-1k", "data/mystery"))
    with pytest.raises(CheckpointError, match="cannot tell the puzzle kind .* pass the kind explicitly"):
        load_checkpoint(path)
    assert load_checkpoint(path, kind="maze")[1].kind == "maze"


def test_wrong_kind_is_caught_from_the_vocabulary(tmp_path):
    path, _ = reference_checkpoint(tmp_path, "maze")
    with pytest.raises(CheckpointError, match=r"'embed_tokens.embedding_weight' has shape \[6, 16\], expected "
                                              r"\[11, 16\] for sudoku"):
        load_checkpoint(path, kind="sudoku")


def test_mismatched_tensor_names_shape_found_and_expected(tmp_path):
    model = tiny_model("sudoku", mlp_t=False, pos_encodings="rope")
    state = dict(model.state_dict())
    state["L_level.layers.1.mlp.down_proj.weight"] = torch.zeros(16, 100)
    path = write_reference_checkpoint(tmp_path, state, {**ARCH, "H_cycles": 2}, "sudoku", "model.inner.")
    with pytest.raises(CheckpointError, match=r"tensor 'L_level.layers.1.mlp.down_proj.weight' has shape "
                                              r"\[16, 100\], expected \[16, 256\]"):
        load_checkpoint(path)


def test_missing_and_unexpected_tensors(tmp_path):
    state = dict(tiny_model("sudoku", mlp_t=False, pos_encodings="rope").state_dict())
    del state["q_head.bias"]
    path = write_reference_checkpoint(tmp_path / "a", state, ARCH, "sudoku", "model.inner.")
    with pytest.raises(CheckpointError, match=r"tensor 'q_head.bias' is missing \(expected shape \[2\]\)"):
        load_checkpoint(path)
    state = dict(tiny_model("sudoku", mlp_t=False, pos_encodings="rope").state_dict(), **{"extra.weight": torch.zeros(3)})
    path = write_reference_checkpoint(tmp_path / "b", state, ARCH, "sudoku", "model.inner.")
    with pytest.raises(CheckpointError, match=r"unexpected tensor 'extra.weight' \(shape \[3\]\)"):
        load_checkpoint(path)


def test_other_architectures_are_refused(tmp_path):
    path, _ = reference_checkpoint(tmp_path, name="recursive_reasoning.hrm@HierarchicalReasoningModel_ACTV1")
    with pytest.raises(CheckpointError, match="architecture 'recursive_reasoning.hrm@.*' is not supported"):
        load_checkpoint(path)


def test_truncated_files(tmp_path, project_checkpoint):
    data = project_checkpoint.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.safetensors"):
        load_checkpoint(cut)

    path, _ = reference_checkpoint(tmp_path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="cannot read reference checkpoint .*step_500"):
        load_checkpoint(path)


def test_pickled_code_is_never_run(tmp_path):
    class Boom:
        def __reduce__(self):
            return (print, ("pickle code ran",))

    path = tmp_path / "step_1"
    torch.save({"model.inner.lm_head.weight": Boom()}, path)
    (tmp_path / "all_config.yaml").write_text("arch: {name: recursive_reasoning.trm@X}\ndata_paths: [data/maze]\n")
    with pytest.raises(CheckpointError, match="cannot read reference checkpoint"):
        load_checkpoint(path)


def test_foreign_files(tmp_path):
    foreign = tmp_path / "other.safetensors"
    save_file({"x": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a TRM Playground checkpoint"):
        load_checkpoint(foreign)
    lonely = tmp_path / "step_5"
    lonely.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="no all_config.yaml beside it"):
        load_checkpoint(lonely)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nothing")


def test_project_file_with_wrong_shape_in_header(tmp_path):
    model = tiny_model("sudoku")
    path = save_checkpoint(model, model.config, tmp_path / "m.safetensors", provenance={})
    # Rewrite the stored config to claim a wider model than the tensors hold.
    with safe_open(str(path), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    meta["config"] = json.dumps({**json.loads(meta["config"]), "hidden_size": 32, "puzzle_emb_ndim": 32})
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(CheckpointError, match=r"tensor '.*' has shape \[.*16.*\], expected \[.*32.*\]"):
        load_checkpoint(path)


def test_demo_checkpoint_names(tmp_path, monkeypatch):
    with pytest.raises(CheckpointError, match="unknown demo checkpoint 'demo:chess'"):
        resolve_checkpoint_path("demo:chess")
    assert resolve_checkpoint_path("demo:sudoku") == DEMO_DIR / "sudoku.safetensors"
    monkeypatch.setattr("solver.checkpoint.DEMO_DIR", tmp_path)  # a copy of the project without the maze demo
    with pytest.raises(CheckpointError, match="demo checkpoint for maze is not installed"):
        resolve_checkpoint_path("demo:maze")


def test_expected_shapes_follow_the_reference_layout():
    shapes = expected_shapes(tiny_model("sudoku", mlp_t=True, pos_encodings="learned").config)
    assert shapes["L_level.layers.0.mlp_t.gate_up_proj.weight"] == (512, 97)  # 256-rounded SwiGLU over 81+16
    assert shapes["embed_pos.embedding_weight"] == (97, 16)
    assert shapes["puzzle_emb.weights"] == (1, 16)
    assert "L_level.layers.0.self_attn.qkv_proj.weight" not in shapes


def test_header_is_plain_safetensors(project_checkpoint):
    """No pickle anywhere: the file is an 8-byte length, a JSON header, then raw tensor bytes."""
    data = project_checkpoint.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    assert header["__metadata__"]["format"] == "trm-playground/1"


def test_fixture_weights_are_deterministic():
    a = fixture_weights({"lm_head.weight": (3, 4)}, 1)
    b = fixture_weights({"lm_head.weight": (3, 4)}, 1)
    assert torch.equal(a["lm_head.weight"], b["lm_head.weight"])


def test_a_maze_model_on_a_smaller_field_round_trips_and_other_lengths_are_refused(tmp_path):
    model = tiny_model("maze", seq_len=100)
    path = save_checkpoint(model, model.config, tmp_path / "maze10.safetensors", provenance={"made_by": "tests"})
    loaded, config = load_checkpoint(path)
    assert (config.kind, config.seq_len) == ("maze", 100)
    assert checkpoint_info(path)["config"]["seq_len"] == 100
    for kind, seq_len, message in (("maze", 99, "maze models need a seq_len that fills a square field of 3x3 to 30x30 cells, not 99"),
                                   ("sudoku", 100, "sudoku models have seq_len 81, not 100"),
                                   ("arc", 80, "arc models need a seq_len that fills a square canvas of 3x3 to 30x30 cells, not 80")):
        with pytest.raises(ValueError, match="invalid TRM config: .*" + message):
            tiny_model(kind, seq_len=seq_len)


@pytest.mark.parametrize(("fmt", "options"), [("hf", {}), ("reference", {}), ("reference", {"compiled_prefix": False}),
                                              ("project", {})], ids=["hf", "reference", "reference-plain-keys", "project"])
def test_an_exported_checkpoint_loads_back_and_gives_the_same_tokens(tmp_path, fmt, options):
    from solver.checkpoint import export_checkpoint
    from solver.codecs import codec_for

    source = "demo:sudoku"
    target = export_checkpoint(source, tmp_path / ("out.safetensors" if fmt == "project" else "out"), fmt=fmt, **options)
    if fmt == "hf":
        assert json.loads((target / "config.json").read_text())["model_type"] == "trm"
        assert "held-out figures: exact_accuracy" in (target / "README.md").read_text()
    if fmt == "reference":
        keys = torch.load(target, weights_only=True)
        assert all(k.startswith("_orig_mod.") == options.get("compiled_prefix", True) for k in keys)
    assert checkpoint_info(target)["content_hash"] == checkpoint_info(source)["content_hash"]

    puzzle = codec_for("sudoku").encode("..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3..")
    runs = [[step.tokens for step in solve_steps(load_checkpoint(path)[0], puzzle[None])] for path in (source, target)]
    assert all(np.array_equal(a, b) for a, b in zip(*runs)) and len(runs[1]) == 8
