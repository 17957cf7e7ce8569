"""`python -m solver demo-train`: one command builds the data, trains, evaluates and records the figures."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from solver.checkpoint import checkpoint_info
from solver.cli import build_parser, main
from solver.config import KIND_SHAPES
from solver.demo_recipes import RECIPES_DIR, load_recipe
from solver.train import load_train_config


@pytest.fixture
def one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_a_recipe_builds_trains_evaluates_and_resumes(tmp_path, one_thread, capsys):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text("""
dataset: [--num-train, 6, --num-test, 3, --bands, "0"]
train:
  arch: {hidden_size: 16, num_heads: 2, expansion: 2, H_cycles: 1, L_cycles: 1, mlp_t: true, pos_encodings: none,
         puzzle_emb_ndim: 0, forward_dtype: float32, halt_max_steps: 2}
  global_batch_size: 4
  max_steps: 3
  lr_warmup_steps: 1
  log_every: 1
""")
    work = tmp_path / "work"
    assert main(["demo-train", "sudoku", "--recipe", str(recipe), "--work-dir", str(work)]) == 0
    model = work / "run" / "model.safetensors"
    info = checkpoint_info(model)
    assert info["provenance"]["training_step"] == 3
    assert info["provenance"]["evaluation"]["puzzles"] == 3  # held-out figures recorded in the checkpoint
    assert json.loads((work / "data" / "test" / "dataset.json").read_text())["total_puzzles"] == 3

    # Run again with a longer schedule: the data is reused and the run continues from its resume.pt.
    capsys.readouterr()
    assert main(["demo-train", "sudoku", "max_steps=4", "--recipe", str(recipe), "--work-dir", str(work)]) == 0
    assert "using the dataset already built" in capsys.readouterr().out
    assert checkpoint_info(model)["provenance"]["training_step"] == 4


def test_a_missing_or_malformed_recipe_is_refused_with_its_path(tmp_path, capsys):
    assert main(["demo-train", "maze", "--recipe", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: {}\n")
    assert main(["demo-train", "maze", "--recipe", str(bad)]) == 2
    assert "needs `dataset`" in capsys.readouterr().err


@pytest.mark.parametrize("recipe", sorted(p.name for p in RECIPES_DIR.glob("*.yaml")))
def test_every_shipped_recipe_is_a_valid_dataset_command_and_training_config(recipe, tmp_path):
    kind = recipe.split(".")[0].split("-")[0]  # maze-gpu.yaml is another recipe for mazes
    loaded = load_recipe(kind, RECIPES_DIR / recipe)
    builder = loaded.get("builder", kind)  # arc-synth.yaml: generated ARC tasks
    arguments = build_parser().parse_args(["build-dataset", builder, "--output-dir", str(tmp_path),
                                           *map(str, loaded["dataset"])])
    assert arguments.dataset_kind == builder
    config = load_train_config(None, data_paths=[str(tmp_path)], checkpoint_path=str(tmp_path / "run"),
                               **loaded["train"])
    # The shape the built dataset would have (a maze recipe may use a smaller --field, arc-synth a --canvas).
    seq_len = {"maze": getattr(arguments, "field", 0) ** 2, "arc-synth": getattr(arguments, "canvas", 0) ** 2}.get(
        builder, KIND_SHAPES[kind]["seq_len"])
    split = SimpleNamespace(metadata=SimpleNamespace(kind=kind, num_puzzle_identifiers=1, seq_len=seq_len,
                                                     vocab_size=KIND_SHAPES[kind]["vocab_size"]))
    model = config.model_config(split)
    assert (model.kind, model.seq_len) == (kind, seq_len)  # the arch is a valid model shape for the kind
