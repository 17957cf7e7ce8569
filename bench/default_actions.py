"""What the playground offers, solved by the shipped demos: each kind's Example, every gallery card, and the
Random buttons at the page's defaults over many tries.

    python bench/default_actions.py                 # 100 random puzzles per Random button
    python bench/default_actions.py --tries 300 --threads 2

The Examples and the gallery come from puzzles/gallery.json (what the page shows); Random puzzle makes what
`GET /api/v1/examples/sudoku/?difficulty=easy` makes (the page's default difficulty), Random maze what
`GET /api/v1/examples/maze/?size=7` makes (the page's default side), both with the
same generators. A Sudoku counts when every cell is right, a maze when its path is a valid shortest one, an ARC
task when its first attempt matches the test output (the job page's verdict). The aim: 80% for each.
"""

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from solver.checkpoint import checkpoint_info, load_checkpoint  # noqa: E402
from solver.codecs import codec_for  # noqa: E402
from solver.datasets import maze, sudoku  # noqa: E402
from solver.evaluate import maze_path_is_shortest  # noqa: E402
from solver.inference import solve_steps  # noqa: E402
from solver.limits import fit_budget  # noqa: E402
from solver.test_time import TaskVotes, run_task  # noqa: E402

GALLERY_FILE = Path(__file__).resolve().parent.parent / "puzzles" / "gallery.json"
EASY = (0, 0)  # guesses of the page's default difficulty, as puzzles/api/examples.py DIFFICULTIES has it
MAZE_SIDE = 7  # the page's default maze side (puzzles/views.py DEFAULT_MAZE_SIDE)


def sudoku_solved(model, puzzles: list[str]) -> list[bool]:
    boards = np.array([[0 if ch in ".0" else int(ch) for ch in p] for p in puzzles])
    solutions = np.array([sudoku.solve([int(v) for v in b], limit=1).solutions[0] for b in boards])
    tokens = np.where(boards == 0, 1, boards + 1)
    *_, last = solve_steps(model, tokens, [0] * len(puzzles))
    return list(((last.tokens - 1) == solutions).all(axis=1))


def mazes_solved(model, config, mazes: list[list[str]]) -> list[bool]:
    codec = codec_for("maze", config.seq_len)
    inputs = codec.encode_batch(mazes)
    *_, last = solve_steps(model, inputs, [0] * len(mazes))
    return [maze_path_is_shortest(x, answer) for x, answer in zip(inputs, last.tokens)]


def arc_solved(model, identifiers: list[str], entry: dict) -> bool:
    if "puzzle" in entry:  # a task drawn for the playground, test outputs included
        task, body = entry["puzzle"], {"train": entry["puzzle"]["train"],
                                       "test": [{"input": pair["input"]} for pair in entry["puzzle"]["test"]]}
    else:  # a task of the library: the gallery's are ARC-AGI-1 training tasks
        from solver.datasets.arc import load_subset

        task = load_subset("training", log=lambda _: None)[entry["name"]]
        body = {"task": entry["name"], "train": task["train"],
                "test": [{"input": pair["input"]} for pair in task["test"]]}
    *_, final = run_task(model, body, budget=fit_budget("cpu"), identifiers=identifiers)
    assert isinstance(final, TaskVotes)
    return all(np.array_equal(vote.attempts[0], np.array(pair["output"])) for vote, pair in zip(final.votes, task["test"]))


def report(action: str, outcomes: list[bool]) -> None:
    rate = sum(outcomes) / len(outcomes)
    print(f"{action:<42} {sum(outcomes):>4}/{len(outcomes):<4} {rate:6.1%}  {'ok' if rate >= 0.8 else 'BELOW 80%'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tries", type=int, default=100, help="random puzzles per Random button")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    offered = json.loads(GALLERY_FILE.read_text())
    sudoku_model, _ = load_checkpoint("demo:sudoku")
    maze_model, maze_config = load_checkpoint("demo:maze")
    arc_model, _ = load_checkpoint("demo:arc")
    arc_identifiers = checkpoint_info("demo:arc")["provenance"].get("puzzle_identifiers") or []
    field = int(round(maze_config.seq_len ** 0.5))

    def solved(entry: dict) -> bool | None:
        if entry["kind"] == "sudoku":
            return sudoku_solved(sudoku_model, [entry["puzzle"]])[0]
        if entry["kind"] == "maze":
            if max(len(entry["puzzle"]), len(entry["puzzle"][0])) > field:
                return None  # the page shows the card disabled: the active model cannot take it
            return mazes_solved(maze_model, maze_config, [entry["puzzle"]])[0]
        return arc_solved(arc_model, arc_identifiers, entry)

    print(f"{'action':<42} {'solved':>9} {'rate':>6}")
    for kind, entry in offered["examples"].items():
        report(f"Example ({kind})", [solved({"kind": kind, **entry})])
    for entry in offered["gallery"]:
        outcome = solved(entry)
        if outcome is None:
            print(f"{'gallery: ' + entry['title']:<42} shown disabled (larger than the {field}x{field} field)")
        else:
            report(f"gallery: {entry['title']}", [outcome])
    rng = random.Random(f"default-actions:{args.seed}")
    puzzles = ["".join(map(str, sudoku.generate(rng, *EASY)[0])) for _ in range(args.tries)]
    report("Random puzzle (easy)", sudoku_solved(sudoku_model, puzzles))
    mazes = [maze.generate(rng, MAZE_SIDE)[0] for _ in range(args.tries)]
    report(f"Random maze ({MAZE_SIDE}x{MAZE_SIDE}, with loops)", mazes_solved(maze_model, maze_config, mazes))


if __name__ == "__main__":
    main()
