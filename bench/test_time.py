"""Test-time compute of the shipped demos: accuracy and CPU seconds per puzzle for steps x samples x views.

    python bench/test_time.py                        # the grid of issue 19, on fresh held-out puzzles
    python bench/test_time.py --puzzles 40 --steps 1 2 --samples 1 4 --views 1 4    # a smaller grid
    python bench/test_time.py --halt 0.99            # with halting (per trajectory)

Fresh puzzles each run (seeded, not the demos' training seeds): Sudokus of the generator's minimal puzzles
(20-26 givens) in guess bands 0, 1-3, 4-9 and 10 and up taken in turn, and mazes of 5x5 to 10x10 with loops
(3% of inner walls opened, what *Random maze* makes) and without. `--steps` are multiples of the trained
count. Each configuration runs `python -m solver evaluate` (solver/evaluate.py, the same code) in this
process; seconds are CPU wall time here divided by puzzles. Prints one table per kind and writes JSON to
--output. The baseline is the first row (trained steps, 1 sample, 1 view), measured in the same run.
"""

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from solver.checkpoint import load_checkpoint  # noqa: E402
from solver.cli import main as solver_main  # noqa: E402
from solver.data import load_split  # noqa: E402
from solver.evaluate import evaluate_model  # noqa: E402
from solver.limits import max_steps  # noqa: E402

SETS = {
    "sudoku": [("all bands", ["--bands", "0,1-3,4-9,10-"])],
    "maze": [("loops", ["--size", *map(str, range(5, 11)), "--field", "11", "--loop-fraction", "0.03"]),
             ("no loops", ["--size", *map(str, range(5, 11)), "--field", "11", "--loop-fraction", "0"])],
}


def build(kind: str, name: str, options: list[str], puzzles: int, seed: int, root: Path) -> Path:
    out = root / f"{kind}-{name.replace(' ', '-')}"
    arguments = ["build-dataset", kind, "--output-dir", str(out), "--num-train", "1", "--num-test", str(puzzles),
                 "--seed", str(seed), *options]
    if solver_main(arguments) != 0:
        raise SystemExit(f"building {kind} {name} failed")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", nargs="+", default=["sudoku", "maze"])
    parser.add_argument("--puzzles", type=int, default=200, help="held-out puzzles per set")
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 2, 4], help="multiples of the trained steps")
    parser.add_argument("--samples", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--views", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--halt", type=float, help="halting threshold (default: every step)")
    parser.add_argument("--select", default="halt", choices=("halt", "vote"))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--output", type=Path, default=Path("var/bench/test_time.json"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds:
            model, config = load_checkpoint(f"demo:{kind}")
            for name, options in SETS[kind]:
                split = load_split(build(kind, name, options, args.puzzles, args.seed, Path(tmp)), "test")
                for factor, samples, views in itertools.product(args.steps, args.samples, args.views):
                    steps = min(factor * config.halt_max_steps, max_steps(config.halt_max_steps))
                    if kind == "maze" and views > 8:
                        continue
                    started = time.perf_counter()
                    figures = evaluate_model(model, split, steps=steps, samples=samples, views=views, halt=args.halt,
                                             selection=args.select, seed=args.seed)
                    seconds = (time.perf_counter() - started) / figures["puzzles"]
                    measure = "valid_shortest_path" if kind == "maze" else "exact_accuracy"
                    row = {"kind": kind, "set": name, "steps": steps, "samples": samples, "views": views,
                           "accuracy": figures[measure], "seconds_per_puzzle": round(seconds, 4),
                           "by": figures.get("by_difficulty") or figures.get("by_size")}
                    rows.append(row)
                    base = next(r for r in rows if r["kind"] == kind and r["set"] == name)
                    print(f"{kind:6} {name:9} steps {steps:3} samples {samples:2} views {views:2}: "
                          f"{100 * row['accuracy']:5.1f}%  {seconds:6.3f} s/puzzle "
                          f"({seconds / base['seconds_per_puzzle']:.1f}x the baseline)", flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
