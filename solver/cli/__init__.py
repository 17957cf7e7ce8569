"""Command line of the solver package: `python -m solver COMMAND`, one module here per command family.

    python -m solver solve --checkpoint PATH|demo:KIND --kind sudoku|maze|arc --input FILE
                           [--puzzle-id N] [--steps N] [--format jsonl|text] [--frames] [--device cpu]
                           [--halt [THRESHOLD]] [--samples K] [--views V] [--seed N] [--noise S]
                           [--select halt|vote] [--dtype float32|bfloat16|checkpoint|auto]
    python -m solver info PATH [--kind K] [--json]
    python -m solver convert SRC DST [--kind K]
    python -m solver export CHECKPOINT DIR --format hf|reference|project [--no-compiled-prefix]
    python -m solver fit-solve --checkpoint PATH --input TASK.json [--augmentations K] [--fit-steps N]
                               [--format jsonl|text]   (an ARC task: fit, solve under augmentations, vote)
    python -m solver init --kind K --output PATH [--hidden-size N --num-heads N --H-cycles N --L-cycles N
                          --mlp-t/--no-mlp-t --pos-encodings rope|learned|none --seed N ...]
    python -m solver build-dataset sudoku|maze|arc --output-dir DIR [...]     (solver/cli/datasets.py)
    python -m solver train --config CONFIG.yaml [KEY=VALUE ...] [--resume]    (solver/train.py)
    python -m solver evaluate CHECKPOINT DATASET [...]                        (solver/evaluate.py)
    python -m solver demo-train sudoku|maze|arc [--install]                   (solver/demo_recipes.py)
    python -m solver plot-metrics RUN_DIR [--output PNG]   (the curves of a run's metrics.jsonl, as a PNG)

`solve --format jsonl` prints one JSON object per supervision step (and per puzzle when the input holds
several, with its 0-based `index`) as soon as the step is computed. `--input -` reads stdin. Any problem
with the input, the options or the checkpoint prints one line to stderr and exits with status 2.

Test-time compute (solver/limits.py, solver/thinking.py): `--steps` may go past the trained step count up to
max(64, 4x trained); `--halt` stops a puzzle at the first step whose halting probability passes THRESHOLD
(0.5 if not given: its last line then says `"halted": true`); `--samples K` runs K trajectories per puzzle,
K - 1 of them with noise in the latent, seeded by `--seed`; `--views V` solves V augmented views and maps
their answers back. With K x V > 1, `grid` and `tokens` are the chosen answer at that step, and each line
adds `trajectories` (sample, view, grid, q_halt_logit, halt_prob, active), `chosen` and `agreeing`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from solver.cli.common import UsageError

# Each module's register() adds its commands; a module imports the library only when its command runs.
COMMAND_MODULES = ("solve", "datasets", "train", "evaluate", "demo", "fit_solve", "plot_metrics")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m solver", description="Tiny Recursive Model solver.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"solver.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (UsageError, ValueError) as e:  # PuzzleError and CheckpointError are ValueErrors too
        print("error: " + " ".join(str(e).split()), file=sys.stderr)  # always one line
        return 2
    except BrokenPipeError:  # `| head` closed the pipe: not an error worth a traceback
        sys.stderr.close()
        return 0
    return 0
