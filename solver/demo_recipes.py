"""The demo checkpoints' recipes: one command builds the data, trains, evaluates and installs a demo.

    python -m solver demo-train sudoku|maze|arc [--work-dir DIR] [--install] [--device ...] [KEY=VALUE ...]

A recipe is `solver/demo/recipes/<kind>.yaml`: the `build-dataset` arguments (`dataset`, for the builder
`builder` names, the kind's own by default: `arc-synth` for generated ARC tasks) and the training
config (`train`, the keys of `python -m solver train`; data_paths and checkpoint_path are filled in here).
The data goes to WORK_DIR/data (built once, reused), the run to WORK_DIR/run; a run that was interrupted
continues from its resume.pt. The training evaluates the final weights on the held-out split and records the
figures in the checkpoint's provenance, which `python -m solver info` and the admin show. `--install` copies
the result to `solver/demo/<kind>.safetensors`, the file `demo:<kind>` names and `make run` registers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from solver.checkpoint import DEMO_DIR

RECIPES_DIR = DEMO_DIR / "recipes"


def load_recipe(kind: str, path: Path | None = None) -> dict[str, Any]:
    path = path or RECIPES_DIR / f"{kind}.yaml"
    if not path.is_file():
        raise ValueError(f"no demo recipe for {kind!r}: {path} does not exist")
    recipe = yaml.safe_load(path.read_text())
    if not isinstance(recipe, dict) or not isinstance(recipe.get("dataset"), list) or "train" not in recipe:
        raise ValueError(f"{path}: a recipe needs `dataset` (a list of build-dataset arguments) and `train`")
    return recipe
