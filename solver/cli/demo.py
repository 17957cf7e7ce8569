"""`python -m solver demo-train sudoku|maze|arc [...]`: build the data, train, evaluate and install a demo
checkpoint by its recipe (solver/demo_recipes.py says what a recipe holds)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import yaml

from solver.config import KINDS


def build_data(kind: str, recipe: dict[str, Any], data_dir: Path) -> None:
    if (data_dir / "train" / "dataset.json").is_file():
        print(f"using the dataset already built in {data_dir}")
        return
    from solver.cli import main as solver_main  # build-dataset, as typed

    builder = recipe.get("builder", kind)  # e.g. arc-synth: generated tasks for an ARC model
    arguments = ["build-dataset", builder, "--output-dir", str(data_dir), *map(str, recipe["dataset"])]
    print("python -m solver " + " ".join(arguments))
    if solver_main(arguments) != 0:
        raise ValueError(f"building the {kind} dataset failed (see above)")


def cmd_demo_train(args: argparse.Namespace) -> None:
    import torch

    from solver.demo_recipes import load_recipe
    from solver.train import RESUME_FILE, load_train_config, start_process, train

    recipe = load_recipe(args.kind, Path(args.recipe) if args.recipe else None)
    work_dir = Path(args.work_dir or f"var/demo/{args.kind}")
    data_dir, run_dir = work_dir / "data", work_dir / "run"
    build_data(args.kind, recipe, data_dir)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    # The recipe's training config, as a file so that KEY=VALUE overrides apply on top of it as in `train`.
    config_file = work_dir / "train.yaml"
    config_file.write_text(yaml.safe_dump({**recipe["train"], "data_paths": [str(data_dir)],
                                           "checkpoint_path": str(run_dir)}, sort_keys=False))
    config = load_train_config(config_file, args.overrides)
    try:
        result = train(config, resume=(run_dir / RESUME_FILE).exists(), process=start_process(args.device))
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    print(result.checkpoint)
    if args.install:
        from solver.checkpoint import DEMO_DIR

        target = DEMO_DIR / f"{args.kind}.safetensors"
        shutil.copyfile(result.checkpoint, target)
        print(f"installed as {target} (demo:{args.kind})")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `demo-train` to the solver command line."""
    p = subparsers.add_parser("demo-train", help="build the data, train and evaluate a demo checkpoint by its recipe",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("kind", choices=KINDS)
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="override the recipe's training config (right after KIND)")
    p.add_argument("--recipe", help="another recipe file (default: solver/demo/recipes/KIND.yaml)")
    p.add_argument("--work-dir", help="where the data and the run go (default: var/demo/KIND)")
    p.add_argument("--install", action="store_true", help="copy the result to solver/demo/KIND.safetensors")
    p.add_argument("--device", default="auto", help="auto (a GPU when there is one), cpu or cuda")
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.set_defaults(func=cmd_demo_train)
