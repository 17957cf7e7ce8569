"""Training TRM with deep supervision and the halting head (solver/train.py says how), from the command line.

    python -m solver train --config CONFIG.yaml [KEY=VALUE ...] [--resume] [--device cpu|cuda] [--threads N]
    torchrun --nproc-per-node 4 -m solver train --config CONFIG.yaml       (several GPUs)
"""

from __future__ import annotations

import argparse
import sys


def cmd_train(args: argparse.Namespace) -> None:
    import torch
    import torch.distributed as dist

    from solver.train import TrainConfigError, load_train_config, start_process, train

    if args.threads is not None:
        if args.threads < 1:
            raise TrainConfigError("--threads must be at least 1")
        torch.set_num_threads(args.threads)
    config = load_train_config(args.config, args.overrides)
    process = start_process(args.device)
    try:
        result = train(config, resume=args.resume, process=process)
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if process.is_main:
        print(result.checkpoint)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `train` to the solver command line."""
    p = subparsers.add_parser("train", help="train a TRM on a dataset directory (deep supervision, ACT)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True, help="YAML training config (reference key names)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="override config entries, given together, e.g. max_steps=200 arch.hidden_size=64")
    p.add_argument("--resume", action="store_true", help="continue the run in checkpoint_path from resume.pt")
    p.add_argument("--device", default="auto", help="auto (a GPU when there is one), cpu or cuda")
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.set_defaults(func=cmd_train)
