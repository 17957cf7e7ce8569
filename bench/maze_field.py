"""How much a smaller maze field speeds up training: mazes per second of the maze demo's model on each field.

    python bench/maze_field.py                 # fields 30 (the baseline), 20, 12, 10; batch 64; about 2 minutes
    python bench/maze_field.py --fields 30 10 --batch 32 --repeats 5

Every row times the trainer's own update (solver.supervision.supervision_step, stablemax loss, backward, Adam) on
random tokens, with the architecture of solver/demo/recipes/maze.yaml and only the field changed; the
ratio is against the 30x30 field measured in the same run, so machine noise cancels to first order.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from solver.config import TRMConfig
from solver.losses import stablemax_cross_entropy
from solver.model import TRM, init_weights
from solver.supervision import Carry, supervision_step

RECIPE = Path(__file__).resolve().parents[1] / "solver" / "demo" / "recipes" / "maze.yaml"


def update_seconds(arch: dict, field: int, batch: int, repeats: int) -> float:
    """Median wall time of one training update at this field (after one warm-up update)."""
    config = TRMConfig.for_kind("maze", seq_len=field * field, **arch)
    model = init_weights(TRM(config), torch.Generator().manual_seed(0)).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)
    tokens = torch.randint(1, 6, (batch, field * field), generator=torch.Generator().manual_seed(1))
    data = {"inputs": tokens, "labels": tokens.clone(), "puzzle_identifiers": torch.zeros(batch, dtype=torch.long)}
    carry = Carry.empty(model, data)
    times = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        carry, logits, _q, _rows = supervision_step(model, carry, data, exploration_prob=0.1,
                                                    generator=torch.Generator().manual_seed(2))
        loss = stablemax_cross_entropy(logits.float().reshape(-1, config.vocab_size), data["labels"].reshape(-1)).mean()
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, nargs="+", default=[30, 20, 12, 10], help="first one is the baseline")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    recipe = yaml.safe_load(RECIPE.read_text())["train"]["arch"]
    arch = {k: v for k, v in recipe.items() if k in TRMConfig.__dataclass_fields__}
    arch.setdefault("puzzle_emb_len", 0)
    print(f"maze demo model ({RECIPE.name}), batch {args.batch}, {args.threads} threads, median of {args.repeats}")
    print("| field | tokens | s / update | mazes / s | vs the first |")
    print("|---|---:|---:|---:|---:|")
    baseline = None
    for field in args.fields:
        seconds = update_seconds(arch, field, args.batch, args.repeats)
        rate = args.batch / seconds
        baseline = baseline or rate
        print(f"| {field}x{field} | {field * field} | {seconds:.3f} | {rate:.1f} | {rate / baseline:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
