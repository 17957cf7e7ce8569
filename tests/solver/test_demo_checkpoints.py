"""The demo checkpoints the repository ships: trained, with their held-out figures, and doing better than chance.

They are made by `python -m solver demo-train KIND --install` (recipes in solver/demo/recipes/). These
tests run them on puzzles generated here, not on their training or test data.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from solver.checkpoint import DEMO_DIR, checkpoint_info, load_checkpoint
from solver.cli import main
from solver.datasets import sudoku
from solver.inference import solve_steps

SHIPPED = ("sudoku", "maze", "arc")


@pytest.mark.parametrize("kind", SHIPPED)
def test_a_shipped_demo_is_trained_and_carries_its_held_out_figures(kind):
    info = checkpoint_info(DEMO_DIR / f"{kind}.safetensors")
    provenance = info["provenance"]
    assert info["config"]["kind"] == kind
    assert provenance["trained"] is True and provenance["made_by"] == "python -m solver train"
    assert provenance["evaluation"]["puzzles"] > 0


def test_the_sudoku_demo_solves_fresh_puzzles_of_its_difficulty():
    model, config = load_checkpoint("demo:sudoku")
    rng = random.Random(20261128)  # fresh puzzles of the trained difficulty (no guesses needed)
    puzzles = [sudoku.generate(rng, 0, 0) for _ in range(40)]
    boards = np.array([p[0] for p in puzzles])
    solutions = np.array([p[1] for p in puzzles])
    tokens = np.array([1 if v == 0 else v + 1 for v in boards.reshape(-1)]).reshape(boards.shape)
    *_, last = solve_steps(model, tokens, [0] * len(puzzles))
    blanks = boards == 0
    accuracy = float(((last.tokens - 1) == solutions)[blanks].mean())
    solved = int(((last.tokens - 1) == solutions).all(axis=1).sum())
    # Held out, it fully solves 93.6% of such puzzles (README; the earlier 1,390-update demo solved 26 of
    # these 40); chance fills about 11% of the blanks.
    assert solved >= 34, f"solved {solved} of 40, blank cells right: {accuracy:.1%}"


def test_the_arc_demo_answers_a_task_it_knows_with_its_learned_embeddings(tmp_path, capsys):
    from tests.conftest import PROJECT_DIR

    identifiers = checkpoint_info(DEMO_DIR / "arc.safetensors")["provenance"]["puzzle_identifiers"]
    known = next(name for name in identifiers if name != "<blank>" and "|||" not in name)  # a task it was trained on
    task = json.loads((PROJECT_DIR / "bench" / "arc_drawn" / "mirror-left-right.json").read_text())
    path = tmp_path / "task.json"
    path.write_text(json.dumps({**task, "task": known}))
    assert main(["fit-solve", "--checkpoint", "demo:arc", "--input", str(path), "--threads", "1"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert not any(r["phase"] == "fit" for r in records)  # a known task is not fitted: its learned rows answer
    final = records[-1]
    assert final["phase"] == "vote" and final["fitted"] is False
    assert len(final["tests"]) == 1 and 1 <= len(final["tests"][0]["attempts"]) <= 2


def test_the_maze_demo_draws_shortest_paths_through_fresh_mazes_of_its_sizes():
    from solver.codecs import codec_for
    from solver.datasets import maze
    from solver.evaluate import maze_path_is_shortest

    model, config = load_checkpoint("demo:maze")
    codec = codec_for("maze", config.seq_len)
    rng = random.Random(20261129)  # fresh perfect mazes of the trained sizes
    mazes = [maze.generate(rng, size, loop_fraction=0)[0] for size in (6, 7, 8, 9, 10) for _ in range(8)]
    inputs = codec.encode_batch(mazes)
    *_, last = solve_steps(model, inputs, [0] * len(mazes))
    valid = sum(maze_path_is_shortest(x, answer) for x, answer in zip(inputs, last.tokens))
    # Held out, 92.2% of such mazes get a valid shortest path (README; the shipped demo: 34 of these 40); an
    # untrained model draws none.
    assert valid >= 30, f"{valid} of 40 valid shortest paths"
