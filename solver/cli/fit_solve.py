"""`python -m solver fit-solve --checkpoint PATH --input TASK.json [...]`: an ARC task answered from the command line.

Its puzzle embedding is fitted to the task's demonstration pairs, the test inputs are solved under
augmentations, and the answers are voted; one JSON line per event (solver/test_time.py says how).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from solver.cli.common import add_dtype_option, parse_device, read_input
from solver.limits import BUDGETS


def cmd_fit_solve(args: argparse.Namespace) -> None:
    import torch

    from solver.checkpoint import checkpoint_info, load_checkpoint
    from solver.limits import fit_budget
    from solver.test_time import event_record, read_task, run_task

    if args.threads is not None:
        torch.set_num_threads(max(1, args.threads))
    device = parse_device(args.device)
    budget = fit_budget(device.type, augmentations=args.augmentations, fit_steps=args.fit_steps)
    if args.warm_start is not None:
        if args.warm_start < 0:
            raise ValueError("--warm-start must be 0 or more")
        budget = dataclasses.replace(budget, warm_start=args.warm_start)
    task = read_task(read_input(args.input))
    model, config = load_checkpoint(args.checkpoint, device=device, dtype=args.dtype, kind="arc")
    if config.kind != "arc":
        raise ValueError(f"fit-solve answers ARC tasks; the checkpoint is a {config.kind} model")
    if args.steps is not None and args.steps < 1:
        raise ValueError("--steps must be at least 1")
    identifiers = checkpoint_info(args.checkpoint, kind="arc")["provenance"].get("puzzle_identifiers")
    for event in run_task(model, task, budget=budget, identifiers=identifiers, steps=args.steps, seed=args.seed):
        record = event_record(event)
        if args.format == "jsonl":
            line = json.dumps(record, separators=(",", ":"))
        elif record["phase"] == "fit":
            line = f"fit {record['step']}/{record['steps']}: loss {record['loss']:.4f}, accuracy {record['accuracy']:.3f}"
            if "started_from" in record:
                start = record["started_from"]
                line += f" (started from learned row {start['name']}, the best of {start['candidates']} tried)"
        elif record["phase"] == "solve":
            line = f"solve step {record['step']} ({record['augmentations']} views): {record['seconds']:.2f} s"
        else:
            line = f"vote ({'fitted' if record['fitted'] else 'learned'} rows), timings {record['timings']}: " + "; ".join(
                f"test {t + 1}: attempts {test['attempts']}, votes {[c['count'] for c in test['candidates']]}"
                for t, test in enumerate(record["tests"]))
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fit-solve` to the solver command line."""
    p = subparsers.add_parser("fit-solve", help="answer an ARC task: fit its puzzle embedding, solve under "
                                                "augmentations, vote", description=__doc__.split("\n\n")[1])
    p.add_argument("--checkpoint", required=True, help="ARC checkpoint file or demo:arc")
    p.add_argument("--input", required=True, help='task JSON {"train": [...], "test": [...]}, or - for stdin')
    p.add_argument("--augmentations", type=int, help="views of the task, the identity included "
                                                     f"(default {BUDGETS['cpu'].augmentations} on a CPU, "
                                                     f"{BUDGETS['cuda'].augmentations} on a GPU)")
    p.add_argument("--fit-steps", dest="fit_steps", type=int, help="fitting updates (default "
                                                                  f"{BUDGETS['cpu'].fit_steps} on a CPU, "
                                                                  f"{BUDGETS['cuda'].fit_steps} on a GPU)")
    p.add_argument("--warm-start", dest="warm_start", type=int, help="learned rows tried as the fit's start, 0 "
                   f"for zero rows (default {BUDGETS['cpu'].warm_start} on a CPU, {BUDGETS['cuda'].warm_start} on a GPU)")
    p.add_argument("--steps", type=int, help="supervision steps (default: the checkpoint's halt_max_steps)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", choices=("jsonl", "text"), default="jsonl")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    add_dtype_option(p)
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.set_defaults(func=cmd_fit_solve)
