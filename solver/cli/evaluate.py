"""`python -m solver evaluate CHECKPOINT DATASET [...]`: held-out figures of a checkpoint (solver/evaluate.py
says which, and how they are graded)."""

from __future__ import annotations

import argparse
import json
import sys

from solver.cli.common import add_dtype_option, add_test_time_options


def cmd_evaluate(args: argparse.Namespace) -> None:
    import torch

    from solver.evaluate import evaluate_checkpoint, record_evaluation, render_table
    from solver.limits import LimitError

    if args.limit is not None and args.limit < 1:
        raise ValueError("--limit must be at least 1")
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError("--threads must be at least 1")
        torch.set_num_threads(args.threads)
    interactive = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if interactive:
            print(f"\revaluated {done}/{total} puzzles", end="", file=sys.stderr, flush=True)

    try:
        figures = evaluate_checkpoint(args.checkpoint, args.dataset, split=args.split, limit=args.limit,
                                      batch_size=args.batch_size, steps=args.steps, device=args.device,
                                      dtype=args.dtype, progress=progress, halt=args.halt, samples=args.samples, views=args.views,
                                      seed=args.seed, noise=args.noise, selection=args.select)
    except LimitError as e:
        raise ValueError(f"--{e.field} {e.reason}") from None
    if interactive:
        print(file=sys.stderr)
    if args.record:
        record_evaluation(args.checkpoint, figures)
    print(json.dumps(figures, indent=2) if args.json else render_table(figures))
    if args.record and not args.json:
        print(f"\nrecorded in the provenance of {args.checkpoint}")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `evaluate` to the solver command line."""
    p = subparsers.add_parser("evaluate", help="held-out figures of a checkpoint on a dataset directory")
    p.add_argument("checkpoint", help="checkpoint file (project .safetensors or reference step_N) or demo:KIND")
    p.add_argument("dataset", help="dataset directory (train/ and test/ as build-dataset writes them)")
    p.add_argument("--split", default="test", help="split to evaluate (default: test)")
    p.add_argument("--limit", type=int, help="evaluate only the first N puzzles")
    p.add_argument("--batch-size", dest="batch_size", type=int, default=128)
    add_test_time_options(p)
    add_dtype_option(p)
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--record", action="store_true", help="write the figures into the checkpoint's provenance")
    p.set_defaults(func=cmd_evaluate)
