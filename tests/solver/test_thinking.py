"""Test-time compute: halting at inference, sampled trajectories, augmented views (solver/thinking.py)."""

import json
import random

import numpy as np
import pytest

from solver.codecs import codec_for
from solver.datasets import maze as maze_data
from solver.datasets import sudoku as sudoku_data
from solver.evaluate import maze_path_is_shortest
from solver.inference import solve_steps
from solver.limits import LimitError, check_test_time, max_steps
from solver.thinking import think_steps
from solver.views import views_for
from tests.solver.test_codecs import SUDOKU


def sudoku_batch(n: int = 3):
    codec = codec_for("sudoku")
    rng = random.Random(5)
    grids = []
    for _ in range(n):
        puzzle, _, _ = sudoku_data.generate(rng)
        grids.append([puzzle[9 * r:9 * r + 9] for r in range(9)])
    return grids, codec.encode_batch(grids)


def test_one_trajectory_is_exactly_solve_steps(sudoku_model):
    grids, inputs = sudoku_batch()
    plain = list(solve_steps(sudoku_model, inputs, steps=4))
    thought = list(think_steps(sudoku_model, "sudoku", grids, inputs, steps=4))
    assert len(plain) == len(thought) == 4
    for a, b in zip(plain, thought):
        np.testing.assert_array_equal(a.tokens, b.tokens)
        np.testing.assert_array_equal(a.confidence, b.confidence)
        np.testing.assert_array_equal(a.q_halt_logit, b.q_halt_logit)
        assert b.active.all() and (b.agreeing == 1).all()


def test_halting_stops_each_row_and_shrinks_the_batch(sudoku_model):
    _, inputs = sudoku_batch(4)
    full = list(solve_steps(sudoku_model, inputs, steps=6))
    probs = np.stack([s.halt_prob for s in full])  # [steps, rows]
    threshold = float(np.median(probs))
    halted = list(solve_steps(sudoku_model, inputs, steps=6, halt=threshold))
    for row in range(4):
        over = np.flatnonzero(probs[:, row] > threshold)
        stop = int(over[0]) + 1 if len(over) else 6  # 1-based step where this row stops
        computed = [s.step for s in halted if s.active[row]]
        assert computed == list(range(1, stop + 1))
        # the kept answer is the one of the step it stopped at, and the rows that ran on are unchanged
        np.testing.assert_array_equal(halted[-1].tokens[row], full[stop - 1].tokens[row])
    assert len(halted) == max(int(np.flatnonzero(probs[:, r] > threshold)[0]) + 1 if (probs[:, r] > threshold).any()
                              else 6 for r in range(4))


def test_a_threshold_every_row_passes_ends_after_one_step(sudoku_model):
    _, inputs = sudoku_batch(2)
    probs = next(solve_steps(sudoku_model, inputs)).halt_prob
    assert len(list(solve_steps(sudoku_model, inputs, halt=float(probs.min()) / 2))) == 1


def test_samples_are_seeded_and_independent_of_batch_companions(sudoku_model):
    grids, inputs = sudoku_batch(3)
    one = list(think_steps(sudoku_model, "sudoku", grids[:1], inputs[:1], samples=4, seed=9, noise=1.0))
    again = list(think_steps(sudoku_model, "sudoku", grids[:1], inputs[:1], samples=4, seed=9, noise=1.0))
    other = list(think_steps(sudoku_model, "sudoku", grids[:1], inputs[:1], samples=4, seed=10, noise=1.0))
    last = one[-1].trajectories[0]
    assert [t.tokens.tolist() for t in last] == [t.tokens.tolist() for t in again[-1].trajectories[0]]
    assert [t.q_halt_logit for t in last] != [t.q_halt_logit for t in other[-1].trajectories[0]]
    # sample 0 is the exact trajectory; the noisy ones differ from it
    exact = list(solve_steps(sudoku_model, inputs[:1]))[-1]
    np.testing.assert_array_equal(last[0].tokens, exact.tokens[0])
    assert len({t.q_halt_logit for t in last}) == 4
    # the chosen trajectory is the most confident halting head
    assert one[-1].chosen[0] == int(np.argmax([t.q_halt_logit for t in last]))
    # a batch with other puzzles first: puzzle 0's seed makes the same trajectories... when it is puzzle 0
    batched = list(think_steps(sudoku_model, "sudoku", grids, inputs, samples=4, seed=9, noise=1.0))
    assert [t.tokens.tolist() for t in batched[-1].trajectories[0]] == [t.tokens.tolist() for t in last]


def test_sudoku_views_map_puzzles_to_puzzles_and_answers_back():
    codec = codec_for("sudoku")
    rng = random.Random(1)
    puzzle, solution, _ = sudoku_data.generate(rng)
    grid = [puzzle[9 * r:9 * r + 9] for r in range(9)]
    answer = codec.encode([solution[9 * r:9 * r + 9] for r in range(9)])
    views = views_for("sudoku", grid, 8, seq_len=81, vocab_size=11, seed=3)
    assert len({v.source.tobytes() + v.values.tobytes() for v in views}) == 8
    for view in views:
        seen = view.apply(answer)
        digits = (seen - 1).reshape(9, 9)
        assert all(sorted(line) == list(range(1, 10)) for line in [*digits, *digits.T])
        assert all(sorted(digits[r:r + 3, c:c + 3].reshape(-1)) == list(range(1, 10))
                   for r in (0, 3, 6) for c in (0, 3, 6))
        np.testing.assert_array_equal(view.undo(seen), answer)
        shown = view.apply(codec.encode(grid))
        np.testing.assert_array_equal(shown == 1, (codec.encode(grid) == 1)[view.source])  # blanks move, stay blank
        given = shown != 1
        np.testing.assert_array_equal(shown[given], seen[given])  # the view's givens agree with its answer
        np.testing.assert_array_equal(view.undo(shown), codec.encode(grid))


def test_maze_views_keep_shortest_paths():
    rng = random.Random(2)
    codec = codec_for("maze", 121)
    maze, answer, _ = maze_data.generate(rng, 7, loop_fraction=0.0)
    views = views_for("maze", maze, 8, seq_len=121, vocab_size=6)
    for view in views:
        seen_maze, seen_answer = view.apply(codec.encode(maze)), view.apply(codec.encode(answer))
        assert maze_path_is_shortest(seen_maze, seen_answer)
        np.testing.assert_array_equal(view.undo(seen_answer), codec.encode(answer))
        # the view's maze sits at the top-left of the field like any other maze
        assert (seen_maze.reshape(11, 11)[7:, :] == 1).all() and (seen_maze.reshape(11, 11)[:, 7:] == 1).all()
    with pytest.raises(LimitError, match="views"):
        views_for("maze", maze, 9, seq_len=121, vocab_size=6)


def test_limits_name_the_option():
    assert max_steps(8) == 64 and max_steps(16) == 64 and max_steps(32) == 128
    check_test_time("sudoku", 8, steps=64, samples=16, views=16, halt=0.5)
    for options, name in (({"steps": 65}, "steps"), ({"samples": 0}, "samples"), ({"views": 9}, "views"),
                          ({"halt": 0.0}, "halt"), ({"noise": 5.0}, "noise")):
        with pytest.raises(LimitError) as caught:
            check_test_time("maze", 8, **options)
        assert caught.value.field == name
    with pytest.raises(LimitError, match="views"):
        check_test_time("arc", 16, views=2)


def test_cli_halt_and_trajectories(project_checkpoint, tmp_path, capsys):
    from solver.cli import main

    puzzle = tmp_path / "p.txt"
    puzzle.write_text(SUDOKU)
    assert main(["solve", "--checkpoint", str(project_checkpoint), "--input", str(puzzle), "--steps", "12"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["step"] for r in lines] == list(range(1, 13))  # past the 3 trained steps
    assert "trajectories" not in lines[0] and "halted" not in lines[0]
    threshold = sorted(r["halt_prob"] for r in lines)[len(lines) // 2]
    assert main(["solve", "--checkpoint", str(project_checkpoint), "--input", str(puzzle), "--steps", "12",
                 "--halt", str(threshold)]) == 0
    halted = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    first_over = next(r["step"] for r in lines if r["halt_prob"] > threshold)
    assert [r["step"] for r in halted] == list(range(1, first_over + 1)) and halted[-1]["halted"] is True
    assert halted[-1]["grid"] == lines[first_over - 1]["grid"]
    assert main(["solve", "--checkpoint", str(project_checkpoint), "--input", str(puzzle), "--samples", "2",
                 "--views", "3"]) == 0
    wide = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(wide) == 3 and len(wide[0]["trajectories"]) == 6
    assert {(t["sample"], t["view"]) for t in wide[0]["trajectories"]} == {(s, v) for s in range(2) for v in range(3)}
    chosen = wide[-1]["trajectories"][wide[-1]["chosen"]]
    assert chosen["grid"] == wide[-1]["grid"] and chosen["q_halt_logit"] == wide[-1]["q_halt_logit"]
    assert wide[-1]["agreeing"] == sum(t["grid"] == wide[-1]["grid"] for t in wide[-1]["trajectories"])
