"""What the solver's commands share: the error a user can fix, reading --input and --device, and the
test-time options of `solve` and `evaluate`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from solver.limits import DEFAULT_HALT_THRESHOLD, DEFAULT_NOISE_SCALE, SELECTIONS

# solver.devices.COMPUTE_DTYPES, written out: importing that module loads torch, which a parser must not.
COMPUTE_DTYPES = ("float32", "bfloat16", "checkpoint", "auto")

if TYPE_CHECKING:
    import torch


class UsageError(Exception):
    """A problem the user can fix from the command line (reported without a traceback)."""


def read_input(path: str) -> str:
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read --input {path}: {e}") from None


def parse_device(name: str) -> torch.device:
    from solver.devices import DeviceError, device_named

    try:
        return device_named(name)
    except DeviceError as error:
        raise UsageError(f"--device {error}") from None


def add_test_time_options(p: argparse.ArgumentParser) -> None:
    """--steps, --halt, --samples, --views, --seed, --noise and --select (solve and evaluate)."""
    p.add_argument("--steps", type=int, help="supervision steps (default: the checkpoint's halt_max_steps; "
                                             "up to max(64, 4x that))")
    p.add_argument("--halt", type=float, nargs="?", const=DEFAULT_HALT_THRESHOLD, metavar="THRESHOLD",
                   help=f"stop a puzzle at the first step whose halting probability passes THRESHOLD "
                        f"(default {DEFAULT_HALT_THRESHOLD} when given without a value)")
    p.add_argument("--samples", type=int, default=1, help="trajectories per puzzle; K - 1 of them with noise "
                                                          "in the latent (default 1: the exact path)")
    p.add_argument("--views", type=int, default=1, help="augmented views per puzzle, answers mapped back and "
                                                        "voted (Sudoku up to 16, maze up to 8; default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampled trajectories and views")
    p.add_argument("--noise", type=float, default=DEFAULT_NOISE_SCALE,
                   help=f"standard deviation of the latent noise of sampled trajectories (default {DEFAULT_NOISE_SCALE})")
    p.add_argument("--select", choices=SELECTIONS, default="halt",
                   help="how a puzzle's answer is chosen among its trajectories: the most confident halting "
                        "head (default) or the most common answer")


def add_dtype_option(p: argparse.ArgumentParser) -> None:
    """--dtype (solve, evaluate, fit-solve)."""
    p.add_argument("--dtype", choices=COMPUTE_DTYPES, default=None,
                   help="what the model computes in: float32 (the default on a CPU: the reference's answers bit "
                        "for bit), bfloat16, checkpoint (the dtype it was trained in; the default on a GPU) or "
                        "auto (bf16 where it was trained in bf16 and the CPU has native bf16, else float32)")
