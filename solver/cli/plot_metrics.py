"""`python -m solver plot-metrics RUN_DIR [--output PNG]`: a training run's curves (solver/metrics_plot.py)."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_plot_metrics(args: argparse.Namespace) -> None:
    from solver.metrics_plot import plot_metrics

    print(plot_metrics(Path(args.run), Path(args.output) if args.output else None))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `plot-metrics` to the solver command line."""
    p = subparsers.add_parser("plot-metrics", help="draw a training run's metrics.jsonl as a PNG",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="the run's folder (train's checkpoint_path) or its metrics.jsonl")
    p.add_argument("--output", help="the PNG to write (default: RUN/metrics.png)")
    p.set_defaults(func=cmd_plot_metrics)
